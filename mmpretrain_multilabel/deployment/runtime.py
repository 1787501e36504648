"""Run exported models (ONNX with onnxruntime, OpenVINO IR) on numpy
batches, with the metadata stored at export.

Input: float32 ``[B, 3, H, W]`` images, already normalised as the metadata
says; output: ``[B, K]`` per-class scores in [0, 1]. Only the runtime's
package is needed: no DGL, whatever graph branch the model had.

OpenVINO's CPU plugin infers in bf16 by default on CPUs with AVX512-BF16 or
AMX (and in fp16 on some others), which moves the scores by up to a few
1e-3. :class:`OpenVINOModel` therefore compiles with an explicit inference
precision, fp32 unless asked otherwise (:data:`PRECISIONS`).
"""
import importlib
import os.path as osp
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Optional, Tuple, Type, Union

import numpy as np

from .metadata import METADATA_KEYS, decode_metadata

INPUT_NAME = 'input'
OUTPUT_NAME = 'scores'

#: Inference precisions a runtime can be asked for, with OpenVINO's element
#: type name of each (``INFERENCE_PRECISION_HINT``). ONNX Runtime runs the
#: exported fp32 graph only.
PRECISIONS: Dict[str, str] = {'fp32': 'f32', 'bf16': 'bf16', 'fp16': 'f16'}
DEFAULT_PRECISION = 'fp32'


def check_precision(precision: str) -> str:
    """Return ``precision`` if it is a key of :data:`PRECISIONS`.

    Raises:
        ValueError: Another value.
    """
    if precision not in PRECISIONS:
        raise ValueError(f'unknown inference precision {precision!r}; expected one of '
                         f'{", ".join(PRECISIONS)}')
    return precision


def openvino_config(precision: str = DEFAULT_PRECISION,
                    num_threads: Optional[int] = None) -> Dict[str, object]:
    """``compile_model`` properties: the inference precision hint (always
    set, so that a bf16-capable CPU does not silently infer in bf16) and
    the number of threads.

    Args:
        precision: A key of :data:`PRECISIONS`.
        num_threads: CPU threads; None: OpenVINO's default.

    Returns:
        Dict[str, object]: Property name to value.
    """
    ov = import_optional('openvino')
    hints = importlib.import_module('openvino.properties.hint')
    config = {hints.inference_precision(): getattr(ov.Type, PRECISIONS[check_precision(precision)])}
    if num_threads:
        config['INFERENCE_NUM_THREADS'] = num_threads
    return config


def import_optional(name: str):
    """Import an export/runtime package or say how to install it.

    Raises:
        ImportError: The package is not installed.
    """
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise ImportError(f'{name} is not installed ({e}); install the export extra: '
                          'pip install "mmpretrain-multilabel[deploy]"') from e


class ExportedModel(metaclass=ABCMeta):
    """An exported model and its metadata.

    Args:
        path (str): The exported file.
        device (str): Where it runs (see the subclasses). Defaults to
            ``'cpu'``.
        num_threads (int, optional): CPU threads; None: the runtime's
            default.
        precision (str): Inference precision, a key of :data:`PRECISIONS`
            (only OpenVINO offers other than ``'fp32'``). Defaults to
            ``'fp32'``.

    Attributes:
        metadata (dict): Decoded metadata (see :mod:`.metadata`).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: The model has no metadata of ``export.py``, or its
            class names do not match its output size.
    """

    def __init__(self, path: str, device: str = 'cpu', num_threads: Optional[int] = None,
                 precision: str = DEFAULT_PRECISION):
        if not osp.isfile(path):
            raise FileNotFoundError(f'exported model not found: {path}')
        self.path = path
        self.requested_precision = check_precision(precision)
        raw, num_outputs = self._load(path, device, num_threads)
        self.metadata = decode_metadata(raw, path)
        if num_outputs != len(self.classes):
            raise ValueError(f'{path}: {len(self.classes)} class names in the metadata but '
                             f'{num_outputs} outputs')

    @property
    def classes(self) -> List[str]:
        """Class names, in score order."""
        return self.metadata['classes']

    @property
    def thresholds(self) -> Union[float, List[float]]:
        """The thresholds stored at export."""
        return self.metadata['thresholds']

    @property
    def input_size(self) -> Tuple[int, int]:
        """``(H, W)`` of the input."""
        return tuple(self.metadata['input_size'])

    @property
    def precision(self) -> str:
        """The precision the runtime computes in (a key of
        :data:`PRECISIONS`)."""
        return DEFAULT_PRECISION

    @abstractmethod
    def _load(self, path: str, device: str,
              num_threads: Optional[int]) -> Tuple[Dict[str, str], int]:
        """Load the model; return its raw metadata and number of classes."""

    @abstractmethod
    def _run(self, inputs: np.ndarray) -> np.ndarray:
        """Scores of a checked float32 batch."""

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        """``[B, K]`` scores of normalised images ``[B, 3, H, W]``.

        Raises:
            ValueError: The images are not ``[B, 3, H, W]`` at the exported
                input size.
        """
        inputs = np.ascontiguousarray(inputs, dtype=np.float32)
        if inputs.ndim != 4 or inputs.shape[1:] != (3, *self.input_size):
            raise ValueError(
                f'{self.path} takes [B, 3, {self.input_size[0]}, {self.input_size[1]}] images, '
                f'got {list(inputs.shape)}; resize in the test pipeline or export again with '
                '--input-size')
        return self._run(inputs)


class OnnxModel(ExportedModel):
    """An ONNX model in onnxruntime (``device='cuda'`` tries the CUDA
    provider first)."""

    def _load(self, path, device, num_threads):
        if self.requested_precision != DEFAULT_PRECISION:
            raise ValueError(f'{path}: onnxruntime runs the exported fp32 graph; precision '
                             f'{self.requested_precision!r} is an OpenVINO (.xml) option')
        ort = import_optional('onnxruntime')
        options = ort.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = num_threads
        providers = ['CPUExecutionProvider']
        if device.startswith('cuda'):
            providers.insert(0, 'CUDAExecutionProvider')
        self.session = ort.InferenceSession(path, options, providers=providers)
        raw = self.session.get_modelmeta().custom_metadata_map
        return raw, self.session.get_outputs()[0].shape[-1]

    def _run(self, inputs):
        return self.session.run([OUTPUT_NAME], {INPUT_NAME: inputs})[0]


class OpenVINOModel(ExportedModel):
    """An OpenVINO IR (``.xml`` beside its ``.bin``); ``device`` is an
    OpenVINO device name (``cpu``, ``gpu``, ``auto``, any case).

    Compiled with the requested inference precision (fp32 by default, see
    :func:`openvino_config`); :attr:`precision` is the one the compiled
    model reports, which is fp32 where the device lacks the requested one
    (bf16 needs AVX512-BF16 or AMX on a CPU), and bf16 for an fp16 request
    on a CPU with bf16 but without fp16 arithmetic (OpenVINO's fallback).
    """

    def _load(self, path, device, num_threads):
        ov = import_optional('openvino')
        core = ov.Core()
        model = core.read_model(path)
        raw = {key: model.get_rt_info([key]).astype(str) for key in METADATA_KEYS
               if model.has_rt_info([key])}
        config = openvino_config(self.requested_precision, num_threads)
        self.compiled = core.compile_model(model, device.upper(), config)
        return raw, model.outputs[0].get_partial_shape()[-1].get_length()

    @property
    def precision(self) -> str:
        hints = importlib.import_module('openvino.properties.hint')
        compiled = self.compiled.get_property(hints.inference_precision()).get_type_name()
        names = {v: k for k, v in PRECISIONS.items()}
        return names.get(compiled, compiled)

    def _run(self, inputs):
        return self.compiled(inputs)[0]


#: Runtime of each exported file type.
RUNTIMES: Dict[str, Type[ExportedModel]] = {'.onnx': OnnxModel, '.xml': OpenVINOModel}


def load_exported(path: str, device: str = 'cpu', num_threads: Optional[int] = None,
                  precision: str = DEFAULT_PRECISION) -> ExportedModel:
    """Load an exported ``.onnx`` or ``.xml`` model in its runtime.

    Args:
        path: The exported file.
        device: Where it runs (see :class:`ExportedModel`).
        num_threads: CPU threads; None: the runtime's default.
        precision: Inference precision (:data:`PRECISIONS`; other than
            ``'fp32'`` for OpenVINO only).

    Raises:
        ValueError: Another file type, or an unknown or unsupported
            precision.
    """
    suffix = osp.splitext(path)[1].lower()
    if suffix not in RUNTIMES:
        raise ValueError(f'{path}: not an exported model (expected {" or ".join(RUNTIMES)})')
    return RUNTIMES[suffix](path, device, num_threads, precision)
