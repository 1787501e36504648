"""FLOPs and parameters of a classifier and of its parts, with MMEngine's
analyzer (multiply-adds, as fvcore counts them), and a config's model built
for counting (``tools/analysis_tools/get_flops.py``, the benchmarks)."""
import copy
from typing import Dict, Sequence, Tuple

import torch
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.config import Config
from torch import nn

from .label_graphs import prepare_label_graphs, use_random_label_graphs

PARTS = ('backbone', 'neck', 'head')


def sdpa_flop_jit(inputs, outputs) -> int:
    """Multiply-adds of ``aten::scaled_dot_product_attention`` (Q K^T and
    A V), which MMEngine's analyzer has no handle for: PyTorch's fused
    attention path (``need_weights=False``) would otherwise count as zero."""
    from mmengine.analysis.jit_handles import get_shape
    q, k = get_shape(inputs[0]), get_shape(inputs[1])
    *batch, lq, dh = q
    n = 1
    for b in batch:
        n *= b
    return 2 * n * lq * k[-2] * dh


def flop_analyzer(model: nn.Module, inputs: tuple) -> FlopAnalyzer:
    """MMEngine's analyzer with the fused-attention handle, quiet."""
    analyzer = FlopAnalyzer(model, inputs)
    analyzer.set_op_handle('aten::scaled_dot_product_attention', sdpa_flop_jit)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return analyzer


class _TensorForward(nn.Module):
    """Trace ``model(x, mode='tensor')``: backbone, neck and head logits."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x, mode='tensor')


def model_complexity(model: nn.Module,
                     shape: Sequence[int] = (448, 448)) -> Dict[str, Tuple[float, int]]:
    """Count inference FLOPs and parameters of an MMPretrain classifier.

    The model is put in eval mode and run once before counting, so parts that
    cache input-independent work for inference (the GAT re-weighting neck)
    are counted as they run at inference.

    Args:
        model: An ``ImageClassifier``-like model (``backbone``/``neck``/
            ``head`` attributes, ``forward(x, mode='tensor')``).
        shape: Input height and width.

    Returns:
        dict: ``{'total'|'backbone'|'neck'|'head': (flops, params)}``; parts
        the model lacks are left out. Parameters count every parameter,
        trained or frozen.
    """
    model.eval()
    inputs = torch.zeros(1, 3, *shape)
    wrapped = _TensorForward(model)
    with torch.no_grad():
        wrapped(inputs)
        analyzer = flop_analyzer(wrapped, (inputs,))
        by_module = analyzer.by_module()
    params = parameter_count(wrapped)
    result = {'total': (float(analyzer.total()), int(params['']))}
    for part in PARTS:
        if getattr(model, part, None) is not None:
            key = f'model.{part}'
            result[part] = (float(by_module.get(key, 0)), int(params.get(key, 0)))
    return result


def build_inference_model(cfg: Config, random_graph: bool = False) -> nn.Module:
    """Build the model without loading pretrained weights.

    Args:
        cfg (Config): The config.
        random_graph (bool): Give the graph branches a random label graph
            instead of building theirs from the training set (FLOPs and
            timing do not depend on its values). Otherwise the config's graph
            specs are built first (:func:`~.label_graphs.prepare_label_graphs`).
    """
    from mmpretrain.registry import MODELS
    if not random_graph:
        prepare_label_graphs(cfg)
    model_cfg = copy.deepcopy(cfg.model)
    if random_graph:
        use_random_label_graphs(model_cfg, model_cfg.head.num_classes)
    model_cfg.pop('init_cfg', None)
    if 'backbone' in model_cfg:
        model_cfg.backbone.pop('init_cfg', None)
    if model_cfg.get('data_preprocessor') is None:
        model_cfg.data_preprocessor = cfg.get('data_preprocessor', None)
    return MODELS.build(model_cfg)
