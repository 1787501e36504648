"""Export a trained multilabel classifier to ONNX and OpenVINO.

The exported graph maps normalised images ``[B, 3, H, W]`` (float32, batch
dynamic) to per-class scores ``[B, K]``: ``sigmoid(logits)``, or
``sigmoid(s * cos)`` for cosine heads, exactly the ``pred_score`` of
MMPretrain's ``predict``. Branches that do not depend on the image (the GAT
re-weighting neck's channel weights, ML-GCN's classifiers) are cached in eval
mode outside the trace, so they are constants of the graph: no DGL op is
exported and the model runs without DGL.
"""
import os
import os.path as osp
import tempfile
from typing import Dict, List, Tuple, Union

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from mmpretrain.models.heads import MultiLabelClsHead
from mmpretrain.registry import MODELS
from torch import nn

from mmpretrain_multilabel.models.heads import cosine_scores
from mmpretrain_multilabel.utils.torch_compat import onnx_export_kwargs

from .metadata import data_preprocessor_cfg
from .runtime import INPUT_NAME, OUTPUT_NAME, import_optional

#: ONNX operator set of the export (17: LayerNorm as one LayerNormalization op).
DEFAULT_OPSET = 17


class ScoresModel(nn.Module):
    """A classifier as exported: normalised images to per-class scores.

    Args:
        model (nn.Module): An MMPretrain classifier (``extract_feat`` and a
            multilabel ``head``).

    Raises:
        TypeError: The head is not a multilabel (sigmoid) head.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        if not isinstance(getattr(model, 'head', None), MultiLabelClsHead):
            raise TypeError('only multilabel classifiers (a MultiLabelClsHead subclass) can '
                            f'be exported, got head {type(getattr(model, "head", None)).__name__}')
        self.model = model

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """``[B, K]`` scores of ``[B, 3, H, W]`` normalised images."""
        head = self.model.head
        logits = head(self.model.extract_feat(inputs))
        if getattr(head, 'normalized', False):  # CosineScoreMixin heads
            return cosine_scores(logits, head.scale)
        return torch.sigmoid(logits)


def load_model(config: Union[str, Config],
               checkpoint: str) -> Tuple[nn.Module, Config, List[str]]:
    """Build a config's model in eval mode and load a checkpoint into it.

    As ``mmpretrain.apis.get_model`` does, but the class names must come
    from the checkpoint.

    Args:
        config: Config file or config. Label-graph build specs
            (``graph=dict(dataset=...)``) must have been built
            (``mmpretrain_multilabel.apis.load_config`` reads a file so).
        checkpoint: Checkpoint with ``meta['dataset_meta']['classes']``
            (MMEngine's runner saves it).

    Returns:
        The model, the config and the class names.

    Raises:
        FileNotFoundError: The config or checkpoint does not exist.
        ValueError: The checkpoint has no class names, or not one per
            output of the head.
    """
    paths = [('checkpoint', checkpoint)]
    if isinstance(config, str):
        paths.insert(0, ('config', config))
    for kind, path in paths:
        if not osp.isfile(path):
            raise FileNotFoundError(f'{kind} not found: {path}')
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    model_cfg = cfg.model.copy()
    model_cfg.data_preprocessor = data_preprocessor_cfg(cfg)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(model_cfg)
    meta = load_checkpoint(model, checkpoint, map_location='cpu').get('meta') or {}
    classes = (meta.get('dataset_meta') or {}).get('classes')
    if not classes:
        raise ValueError(f"{checkpoint}: no class names (meta['dataset_meta']['classes']); "
                         'save the checkpoint with meta=dict(dataset_meta=dict(classes=[...])), '
                         'as the training runner does')
    num_classes = getattr(model.head, 'num_classes', len(classes))
    if len(classes) != num_classes:
        raise ValueError(f'{checkpoint}: {len(classes)} class names for a head with '
                         f'{num_classes} classes')
    return model.eval(), cfg, list(classes)


def export_onnx(model: nn.Module, path: str, input_size: Tuple[int, int],
                metadata: Dict[str, str], opset: int = DEFAULT_OPSET) -> str:
    """Export a classifier's scores to ONNX, with metadata.

    Args:
        model: An MMPretrain multilabel classifier (see :class:`ScoresModel`).
        path: The ``.onnx`` file to write.
        input_size: ``(H, W)`` of the input; the batch size is dynamic.
        metadata: Stored as ``metadata_props`` (see
            :func:`~.metadata.encode_metadata`).
        opset: ONNX operator set. Defaults to 17.

    Returns:
        str: ``path``.

    Raises:
        ImportError: onnx is not installed.
        RuntimeError: The graph has operators outside the standard ONNX
            domain (they would need custom runtime libraries).
    """
    onnx = import_optional('onnx')
    scores = ScoresModel(model).eval()
    dummy = torch.zeros(2, 3, *input_size)
    with torch.no_grad():
        torch.onnx.export(scores, (dummy, ), path, opset_version=opset,
                          input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_axes={INPUT_NAME: {0: 'batch'}, OUTPUT_NAME: {0: 'batch'}},
                          **onnx_export_kwargs())
    proto = onnx.load(path)
    # [batch, K]: slicing in heads (ML-Decoder's group FC) hides K from the
    # exporter's shape inference, which would name it instead
    proto.graph.output[0].type.tensor_type.shape.dim[1].dim_value = model.head.num_classes
    custom = sorted({f'{n.domain}::{n.op_type}' for n in proto.graph.node
                     if n.domain not in ('', 'ai.onnx')})
    if custom:
        raise RuntimeError(f'{path}: non-standard ONNX operators {custom}')
    onnx.helper.set_model_props(proto, metadata)
    onnx.checker.check_model(proto)
    onnx.save(proto, path)
    return path


def onnx_to_openvino(onnx_path: str, xml_path: str, metadata: Dict[str, str]) -> str:
    """Convert an ONNX model to OpenVINO IR (``.xml`` + ``.bin``, float32
    weights), the metadata as ``rt_info`` entries ``[key]``.

    Raises:
        ImportError: openvino is not installed.
    """
    ov = import_optional('openvino')
    model = ov.convert_model(onnx_path)
    for key, value in metadata.items():
        model.set_rt_info(value, [key])
    ov.save_model(model, xml_path, compress_to_fp16=False)
    return xml_path


#: File suffix of each export format.
FORMATS = {'onnx': '.onnx', 'openvino': '.xml'}


def export_model(model: nn.Module, path: str, fmt: str, input_size: Tuple[int, int],
                 metadata: Dict[str, str], opset: int = DEFAULT_OPSET) -> str:
    """Export to ``fmt`` (``'onnx'`` or ``'openvino'``, through a temporary
    ONNX file) at ``path``; return the path written.

    Raises:
        ValueError: Unknown format, or ``path`` without the format's suffix
            (``.onnx`` / ``.xml``, by which ``load_exported`` picks the
            runtime).
    """
    if fmt not in FORMATS:
        raise ValueError(f'unknown export format {fmt!r}; choose from {sorted(FORMATS)}')
    if osp.splitext(path)[1].lower() != FORMATS[fmt]:
        raise ValueError(f'{path}: a {fmt} model must be written to a {FORMATS[fmt]} file')
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    if fmt == 'onnx':
        return export_onnx(model, path, input_size, metadata, opset)
    import_optional('openvino')  # fail before the export, not after
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = export_onnx(model, osp.join(tmp, 'model.onnx'), input_size, metadata, opset)
        return onnx_to_openvino(onnx_path, path, metadata)
