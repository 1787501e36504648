"""Time the metric suite and threshold tuning at COCO sizes against
MMPretrain's stock metrics on the same data, side by side in one run.

Synthetic COCO-like scores: 80 classes, 2.92 labels per image, sigmoid
scores in float32 (with the rare ties float32 gives). Both sides start from
the per-sample results list that ``process`` builds (stacking included).

- evaluation, 40,137 images (COCO-2014 val): ``MultiLabelSuite`` (mAP,
  CP/CR/CF1, OP/OR/OF1, mean F1, and the same at top-3) versus MMPretrain's
  ``AveragePrecision`` + ``MultiLabelMetric(average='macro')`` +
  ``MultiLabelMetric(average='micro')`` (mAP, CP/CR/mean F1, OP/OR/OF1);
- tuning, 117,266 images (COCO-2017 train): ``ThresholdTuningMetric``
  (exact per-class F1 optimum, then the suite at 0.5 and at the tuned
  thresholds) versus the stock trio on the same data, and versus a grid
  search with ``MultiLabelMetric.calculate(average=None)`` (what tuning with
  stock MMPretrain takes; coarse, not exact).

Usage::

    python benchmarks/metrics.py [--repeats 3] [--grid 19] [--val 40137]
        [--train 117266]
"""
import argparse
import os.path as osp
import sys
import time

import numpy as np
import torch

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))

from mmpretrain.evaluation import AveragePrecision, MultiLabelMetric  # noqa: E402

from mmpretrain_multilabel.evaluation import tune_thresholds  # noqa: E402
from mmpretrain_multilabel.evaluation.metrics import (  # noqa: E402
    MultiLabelSuite,
    ThresholdTuningMetric,
)

NUM_CLASSES = 80
LABELS_PER_IMAGE = 2.92


def make_results(num_images: int, seed: int = 0):
    """Per-sample results as ``process`` keeps them, plus stacked tensors."""
    torch.manual_seed(seed)  # the Dirichlet below draws from the global generator
    g = torch.Generator().manual_seed(seed)
    freq = torch.distributions.Dirichlet(torch.full((NUM_CLASSES,), 0.7)).sample()
    freq = (freq * LABELS_PER_IMAGE).clamp(max=0.6)
    targets = (torch.rand(num_images, NUM_CLASSES, generator=g) < freq).float()
    logits = 1.5 * torch.randn(num_images, NUM_CLASSES, generator=g) + 4 * targets - 4
    scores = torch.sigmoid(logits)
    results = [dict(pred_score=s, gt_score=t) for s, t in zip(scores, targets)]
    return results, scores, targets


def best_time(fn, repeats: int):
    """Wall and process CPU seconds of the fastest of ``repeats`` runs (CPU
    time is steadier on a shared machine), and the result."""
    best, out = (float('inf'), float('inf')), None
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        out = fn()
        took = (time.perf_counter() - start, time.process_time() - cpu)
        best = min(best, took)
    return best, out


def line(name, t, ref=None, ratio_name=''):
    text = f'{name:<46}: {t[0]:7.3f} s wall {t[1]:7.3f} s cpu'
    if ref is not None:
        text += (f'   {ratio_name} {ref[0] / t[0]:5.1f}x wall, '
                 f'{ref[1] / t[1]:5.1f}x cpu')
    print(text)


def stock_trio(results):
    out = AveragePrecision().compute_metrics(results)
    macro = MultiLabelMetric(average='macro').compute_metrics(results)
    micro = MultiLabelMetric(average='micro').compute_metrics(results)
    out.update({f'macro/{k}': v for k, v in macro.items()})
    out.update({f'micro/{k}': v for k, v in micro.items()})
    return out


def grid_search(scores, targets, grid: int):
    """Per class, the best of ``grid`` evenly spaced thresholds, with the
    stock per-class F1."""
    best_f1 = torch.full((scores.shape[1],), -1.0)
    best_thr = torch.full((scores.shape[1],), 0.5)
    for t in np.linspace(0, 1, grid + 2)[1:-1]:
        _, _, f1, _ = MultiLabelMetric.calculate(scores, targets.long(), average=None,
                                                 thr=float(t))
        better = f1 > best_f1
        best_f1[better], best_thr[better] = f1[better], float(t)
    return best_thr, best_f1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--val', type=int, default=40137)
    parser.add_argument('--train', type=int, default=117266)
    parser.add_argument('--repeats', type=int, default=3,
                        help='best of N for the plugin (the stock side runs once)')
    parser.add_argument('--grid', type=int, default=19,
                        help='thresholds of the stock grid-search baseline')
    args = parser.parse_args(argv)
    print(f'torch threads: {torch.get_num_threads()}, classes: {NUM_CLASSES}')

    results, scores, targets = make_results(args.val)
    t_stock, stock = best_time(lambda: stock_trio(results), 1)
    t_suite, ours = best_time(lambda: MultiLabelSuite().compute_metrics(results), args.repeats)
    t_lean, _ = best_time(lambda: MultiLabelSuite(topk=None).compute_metrics(results),
                          args.repeats)
    print(f'\n== evaluation, {args.val} x {NUM_CLASSES}')
    line('stock AveragePrecision + 2x MultiLabelMetric', t_stock)
    line('MultiLabelSuite (with top-3)', t_suite, t_stock, 'stock/suite')
    line('MultiLabelSuite (topk=None)', t_lean, t_stock, 'stock/suite')
    pairs = [('mAP', 'mAP'), ('CP', 'macro/precision'), ('CR', 'macro/recall'),
             ('mean-F1', 'macro/f1-score'), ('OP', 'micro/precision_micro'),
             ('OR', 'micro/recall_micro'), ('OF1', 'micro/f1-score_micro')]
    diff = max(abs(ours[a] - stock[b]) for a, b in pairs)
    print(f'same values: max |suite - stock| over {len(pairs)} shared keys = {diff:.2e} '
          '(mAP may differ in the last digits: ties)')

    results, scores, targets = make_results(args.train, seed=1)
    t_stock, _ = best_time(lambda: stock_trio(results), 1)
    t_tune_fn, (thr, f1) = best_time(lambda: tune_thresholds(scores, targets), args.repeats)
    t_tune, _ = best_time(lambda: ThresholdTuningMetric().compute_metrics(results),
                          args.repeats)
    t_grid, (gthr, gf1) = best_time(lambda: grid_search(scores, targets, args.grid), 1)
    print(f'\n== threshold tuning, {args.train} x {NUM_CLASSES}')
    line('stock AveragePrecision + 2x MultiLabelMetric', t_stock)
    line('tune_thresholds (exact, all distinct scores)', t_tune_fn, t_stock, 'stock/tune')
    line('ThresholdTuningMetric (tune + suite x2)', t_tune, t_stock, 'stock/metric')
    line(f'stock grid search, {args.grid} thresholds', t_grid)
    print(f'{"":<46}  grid/tune {t_grid[0] / t_tune_fn[0]:5.1f}x wall, '
          f'{t_grid[1] / t_tune_fn[1]:5.1f}x cpu')
    print(f'mean best F1: exact {f1.mean():.4f} vs grid {gf1.mean().item() / 100:.4f} '
          '(exact >= grid)')


if __name__ == '__main__':
    main()
