"""Current-torch compatibility: MMEngine 0.10.7 checkpoints on torch >= 2.6,
and the ONNX exporter this project's graphs are built for on torch >= 2.9.

torch 2.6 changed ``torch.load``'s default to ``weights_only=True``
(https://pytorch.org/docs/stable/notes/serialization.html#weights-only).
MMEngine 0.10.7's local checkpoint loader calls ``torch.load`` without the
argument, but the checkpoints its runner writes are full pickles: the
message hub's ``HistoryBuffer`` objects, NumPy scalars and arrays, and the
parameter schedulers' state, which holds bound methods (``getattr`` on a
scheduler object). Those cannot be allow-listed for ``weights_only``, so
resuming training, ``tools/test.py``, inference and export failed with an
``UnpicklingError``.

Importing this module re-registers MMEngine's loader for local paths with
``weights_only=False`` (the behaviour those checkpoints were written for)
where torch's default is ``weights_only=True``; on older torch nothing
changes. Load only checkpoints you trust, as with any pickle.

torch 2.9 made ``torch.onnx.export`` default to the ``torch.export``-based
exporter (``dynamo=True``, which needs ``onnxscript``);
:func:`onnx_export_kwargs` keeps the TorchScript exporter, still shipped,
whose graphs (the GAT branch folded into one constant, standard operators,
dynamic batch) the deployment code and tests check.
"""
import inspect
import os.path as osp
from typing import Any, Optional

import torch
from mmengine.runner.checkpoint import CheckpointLoader
from mmengine.utils import digit_version

#: First torch release whose ``torch.load`` defaults to ``weights_only=True``.
WEIGHTS_ONLY_DEFAULT_SINCE = '2.6.0'


def weights_only_is_default(version: str = torch.__version__) -> bool:
    """Whether ``torch.load`` of this torch version defaults to
    ``weights_only=True``.

    Args:
        version (str): A torch version string. Defaults to the running one.

    Returns:
        bool: True from torch 2.6 on.
    """
    return digit_version(version) >= digit_version(WEIGHTS_ONLY_DEFAULT_SINCE)


def load_mmengine_checkpoint(filename: str, map_location: Optional[Any] = None) -> Any:
    """MMEngine's ``load_from_local`` with the full unpickler.

    Args:
        filename (str): Local checkpoint path (``~`` is expanded).
        map_location: As for :func:`torch.load`.

    Returns:
        dict | OrderedDict: The checkpoint.

    Raises:
        FileNotFoundError: ``filename`` is not a file.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return torch.load(filename, map_location=map_location, weights_only=False)


def onnx_export_kwargs() -> dict:
    """Extra ``torch.onnx.export`` arguments selecting the TorchScript
    exporter.

    Returns:
        dict: ``{'dynamo': False}`` where ``torch.onnx.export`` takes
        ``dynamo`` (torch >= 2.5), else ``{}`` (only that exporter exists).
    """
    params = inspect.signature(torch.onnx.export).parameters
    return {'dynamo': False} if 'dynamo' in params else {}


if weights_only_is_default():
    CheckpointLoader.register_scheme(prefixes='', loader=load_mmengine_checkpoint, force=True)
