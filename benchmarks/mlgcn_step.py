"""How far one gradient step on ML-GCN's graph layers moves its classifiers.

ML-GCN (Chen et al., CVPR 2019, https://arxiv.org/abs/1904.03582) computes its
``K`` classifiers as ``W = A lrelu(A X W1) W2``. A step on ``W1`` or ``W2``
along the gradient of a loss whose gradient on the classifiers is ``G`` moves
``W`` by ``J J^T G`` (``J``: the layer's Jacobian), where a linear or cosine
head, whose classifiers are its weights, moves by ``G`` itself. This prints,
for the head of a shipped config with its last graph layer fitted to a given
classifier (:func:`~mmpretrain_multilabel.models.heads.pooled_start.graph_classifier_from_pooled`,
as the transferred start does): the singular values of ``A H`` (a step on
``W2`` multiplies the component of ``G`` along each by its square) and the
ratio ``|J J^T G| / |G|`` of each layer for random directions ``G``, mean and
spread over them, with ``W1`` and ``W2`` rescaled against each other (``c W1``,
``W2 / c``: the same classifiers, the leaky ReLU being positively homogeneous).

Usage::

    python benchmarks/mlgcn_step.py [--config configs/coco319/...mlgcn...py]
        [--directions 8] [--seed 0]

The label graph is the config's (built from its training photos and cached on
the first run; coco319 must be at ``data/coco319``).
"""
import argparse
import copy
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

import mmpretrain_multilabel  # noqa: F401  registers the components
from mmpretrain_multilabel.apis.label_graphs import prepare_label_graphs
from mmpretrain_multilabel.models.heads.pooled_start import graph_basis

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs', 'coco319',
                  'lite0_mlgcn-aam-transfer-recipe_1xb16_coco319-224px.py')


def step_ratio(head: torch.nn.Module, layer: int, direction: torch.Tensor) -> float:
    """``|J J^T G| / |G|`` for graph layer ``layer``: the derivative of the
    classifiers along the layer's gradient (a central difference)."""
    weight = head.layers[layer].weight
    grad, = torch.autograd.grad((head.compute_classifiers() * direction).sum(), weight)
    t = 1e-3 * float(weight.norm() / grad.norm())
    with torch.no_grad():
        moved = (_classifiers_with(head, layer, weight + t * grad)
                 - _classifiers_with(head, layer, weight - t * grad)) / (2 * t)
    return float(moved.norm() / direction.norm())


def _classifiers_with(head: torch.nn.Module, layer: int, weight: torch.Tensor) -> torch.Tensor:
    """The head's classifiers with graph layer ``layer``'s weight replaced."""
    module = head.layers[layer]
    saved = module.weight.data
    module.weight.data = weight
    try:
        return head.compute_classifiers()
    finally:
        module.weight.data = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=CONFIG)
    parser.add_argument('--directions', type=int, default=8)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    cfg = Config.fromfile(args.config)
    init_default_scope('mmpretrain')
    prepare_label_graphs(cfg)
    torch.manual_seed(args.seed)  # W1 as initialised, the fitted classifier, the directions
    head = MODELS.build(cfg.model.head)
    k, c = head.num_classes, head.in_channels
    head.init_from_pooled_classifier(torch.nn.functional.normalize(torch.randn(k, c), dim=1))
    w1, w2 = (layer.weight.detach() for layer in head.layers)
    sv = torch.linalg.svdvals(graph_basis(head))
    print(f'{osp.basename(args.config)}: K = {k}, |W1| = {w1.norm():.2f}, '
          f'|W2| = {w2.norm():.2f} (last layer fitted to a random unit-row classifier)')
    print(f'singular values of A H: largest {sv[0]:.2f} (squared {sv[0] ** 2:.0f}), '
          f'smallest {sv[-1]:.3f} (squared {sv[-1] ** 2:.3f})')
    directions = [torch.randn(k, c) for _ in range(args.directions)]
    balanced = float((w2.norm() / w1.norm()).sqrt())
    print('\n| W1, W2 rescaled by | step on W1 moves W by (x G) | step on W2 moves W by (x G) |')
    print('|---|---|---|')
    for scale in (1., balanced):
        scaled = copy.deepcopy(head)
        with torch.no_grad():
            scaled.layers[0].weight.mul_(scale)
            scaled.layers[1].weight.div_(scale)
        cells = []
        for layer in (0, 1):
            ratios = [step_ratio(scaled, layer, g) for g in directions]
            cells.append(f'{np.mean(ratios):.1f} ± {np.std(ratios, ddof=1):.1f}')
        print(f'| {scale:.2f}{" (balanced norms)" if scale != 1 else ""} | {cells[0]} | '
              f'{cells[1]} |')


if __name__ == '__main__':
    main()
