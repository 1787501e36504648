"""Time the metric suite against MMPretrain's stock metrics at COCO sizes,
side by side in one run, from the same per-sample results.

Synthetic COCO-like predictions: 80 classes, 2.92 labels per image, sigmoid
scores in float32 made distinct within each class (where scores tie, the two
AP rules legitimately differ; ties are covered by the tests). Each sample is
what MMEngine's ``Evaluator`` hands to ``process``: ``DataSample.to_dict()``
with ``pred_score`` and index ``gt_label``, in batches of 32.

- evaluation, 40,137 images (COCO-2014 val): ``MultiLabelSuite`` (mAP,
  CP/CR/CF1, OP/OR/OF1, mean F1 and the same at top-3) versus MMPretrain's
  ``AveragePrecision`` + ``MultiLabelMetric(average='macro')`` +
  ``MultiLabelMetric(average='micro')``, each through ``process()`` of every
  batch and ``evaluate()``. Rounds alternate the order of the two arms; the
  ratio is the median of the per-round ratios, with min and max.
- the same under ``--procs`` processes (gloo; each takes its
  ``DefaultSampler`` share, collection included), timed on rank 0.
- tuning, 117,266 images (COCO-2017 train): ``tune_thresholds`` (exact
  per-class F1 optimum) versus a 19-threshold grid search with
  ``MultiLabelMetric.calculate(average=None)``.

Usage::

    PYTHONPATH=. python benchmarks/metrics.py [--rounds 5] [--val 40137]
        [--procs 2] [--procs-rounds 2] [--train 117266] [--grid 19]
"""
import argparse
import os
import statistics
import tempfile
import time
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
import torch
from mmpretrain.evaluation import AveragePrecision, MultiLabelMetric
from mmpretrain.structures import DataSample

from mmpretrain_multilabel.evaluation import tune_thresholds
from mmpretrain_multilabel.evaluation.metrics import MultiLabelSuite

NUM_CLASSES = 80
LABELS_PER_IMAGE = 2.92
BATCH = 32
#: suite key -> stock key (all with the ``multi-label/`` prefix)
SHARED_KEYS = {'mAP': 'mAP', 'CP': 'precision', 'CR': 'recall', 'mean-F1': 'f1-score',
               'OP': 'precision_micro', 'OR': 'recall_micro', 'OF1': 'f1-score_micro'}


def make_scores(num_images: int, seed: int = 0) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(N, 80)`` float32 scores (distinct within each class) and 0/1
    targets."""
    g = torch.Generator().manual_seed(seed)
    alpha = torch.full((NUM_CLASSES,), 0.7)
    freq = torch._sample_dirichlet(alpha, generator=g)
    freq = (freq * LABELS_PER_IMAGE).clamp(max=0.6)
    targets = (torch.rand(num_images, NUM_CLASSES, generator=g) < freq).float()
    logits = 1.5 * torch.randn(num_images, NUM_CLASSES, generator=g) + 4 * targets - 4
    # distinct scores: each class's ranks mapped into (0, 1) keep the order
    ranks = logits.argsort(0).argsort(0).float()
    scores = (ranks + 0.5) / num_images
    return scores, targets


def make_samples(scores: torch.Tensor, targets: torch.Tensor) -> List[dict]:
    """The per-sample dicts MMEngine's ``Evaluator`` passes to ``process``."""
    return [DataSample().set_pred_score(s).set_gt_label(t.nonzero().flatten()).to_dict()
            for s, t in zip(scores, targets)]


def stock_metrics() -> list:
    return [AveragePrecision(), MultiLabelMetric(average='macro'),
            MultiLabelMetric(average='micro')]


def suite_metrics() -> list:
    return [MultiLabelSuite()]


def evaluate(metrics: Sequence, batches: Sequence[Sequence[dict]], size: int) -> Dict:
    """``process`` every batch, then ``evaluate``; merged outputs."""
    for batch in batches:
        for metric in metrics:
            metric.process(None, batch)
    out: Dict = {}
    for metric in metrics:
        out.update(metric.evaluate(size))
    return out


def interleaved(arms: Dict[str, Callable[[], Dict]], rounds: int,
                barrier: Callable[[], None] = lambda: None):
    """Wall seconds of each arm per round (order alternating) and the last
    outputs."""
    times = {name: [] for name in arms}
    outputs = {}
    names = list(arms)
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            barrier()
            start = time.perf_counter()
            outputs[name] = arms[name]()
            times[name].append(time.perf_counter() - start)
    return times, outputs


def ratio_summary(num: Sequence[float], den: Sequence[float]) -> Tuple[float, float, float]:
    """Median, min and max of the per-round ratios ``num / den``."""
    ratios = [a / b for a, b in zip(num, den)]
    return statistics.median(ratios), min(ratios), max(ratios)


def max_difference(stock: Dict, suite: Dict) -> float:
    return max(abs(suite[f'multi-label/{a}'] - stock[f'multi-label/{b}'])
               for a, b in SHARED_KEYS.items())


def float64_reference(scores: torch.Tensor, targets: torch.Tensor) -> Dict[str, float]:
    """The stock definitions evaluated in float64 (``MultiLabelMetric``
    accumulates in float32, which moves its percentages by up to ~1e-5):
    ``AveragePrecision.calculate`` on float64 input, and macro / micro
    precision, recall and F1 at ``score >= 0.5`` in numpy float64."""
    pred = (scores >= 0.5).numpy().astype(np.float64)
    gt = targets.numpy().astype(np.float64)
    tp, pp, pg = (pred * gt).sum(0), pred.sum(0), gt.sum(0)

    def ratio(a, b):
        return np.divide(a, b, out=np.zeros_like(np.asarray(a, np.float64)), where=b > 0)

    p, r = ratio(tp, pp), ratio(tp, pg)
    op, or_ = ratio(tp.sum(), pp.sum()), ratio(tp.sum(), pg.sum())
    values = {'mAP': AveragePrecision.calculate(scores.double(), targets.double()).item() / 100,
              'CP': p.mean(), 'CR': r.mean(), 'mean-F1': ratio(2 * p * r, p + r).mean(),
              'OP': op, 'OR': or_, 'OF1': ratio(2 * op * or_, op + or_)}
    return {f'multi-label/{SHARED_KEYS[k]}': float(v) * 100 for k, v in values.items()}


def batches_of(samples: Sequence[dict], indices: Sequence[int]) -> List[List[dict]]:
    chosen = [samples[i] for i in indices]
    return [chosen[i:i + BATCH] for i in range(0, len(chosen), BATCH)]


def run_arms(samples: List[dict], indices: Sequence[int], rounds: int,
             barrier: Callable[[], None] = lambda: None):
    batches = batches_of(samples, indices)
    size = len(samples)
    arms = {'stock': lambda: evaluate(stock_metrics(), batches, size),
            'suite': lambda: evaluate(suite_metrics(), batches, size)}
    return interleaved(arms, rounds, barrier)


def report(title: str, times: Dict[str, List[float]], outputs: Dict,
           reference: Dict[str, float]) -> str:
    med, lo, hi = ratio_summary(times['stock'], times['suite'])
    lines = [f'== {title}',
             f'stock AveragePrecision + 2x MultiLabelMetric : median '
             f'{statistics.median(times["stock"]):7.3f} s',
             f'MultiLabelSuite (with top-3)                 : median '
             f'{statistics.median(times["suite"]):7.3f} s',
             f'stock / suite: {med:.2f}x (min {lo:.2f}x, max {hi:.2f}x over '
             f'{len(times["suite"])} interleaved rounds; target >= 5x)',
             f'same values over the {len(SHARED_KEYS)} shared keys (percent): max |suite - '
             f'stock definitions in float64| = '
             f'{max_difference(reference, outputs["suite"]):.1e} (target <= 1e-6); '
             f'max |suite - stock as run| = '
             f'{max_difference(outputs["stock"], outputs["suite"]):.1e} (stock sums in float32)']
    return '\n'.join(lines)


def _dist_worker(rank: int, world_size: int, init_file: str, num_images: int, rounds: int,
                 out_file: str) -> None:
    import datetime

    import torch.distributed as dist
    from mmengine.dataset import DefaultSampler
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world_size, timeout=datetime.timedelta(seconds=600))
    samples = make_samples(*make_scores(num_images))
    indices = list(DefaultSampler(list(range(num_images)), shuffle=False))
    times, outputs = run_arms(samples, indices, rounds, barrier=dist.barrier)
    if rank == 0:
        torch.save(dict(times=times, outputs=outputs), out_file)
    dist.barrier()
    dist.destroy_process_group()


def run_distributed(num_images: int, procs: int, rounds: int) -> str:
    import torch.multiprocessing as mp
    with tempfile.TemporaryDirectory() as tmp:
        out_file = os.path.join(tmp, 'times.pt')
        mp.spawn(_dist_worker, args=(procs, os.path.join(tmp, 'init'), num_images, rounds,
                                     out_file), nprocs=procs)
        result = torch.load(out_file)
    reference = float64_reference(*make_scores(num_images))
    return report(f'evaluation, {num_images} x {NUM_CLASSES}, {procs} processes (gloo, '
                  'collection included)', result['times'], result['outputs'], reference)


def grid_search(scores: torch.Tensor, targets: torch.Tensor, grid: int):
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


def run_tuning(num_images: int, grid: int, rounds: int) -> str:
    scores, targets = make_scores(num_images, seed=1)
    arms = {'grid': lambda: grid_search(scores, targets, grid),
            'exact': lambda: tune_thresholds(scores, targets)}
    times, outputs = interleaved(arms, rounds)
    med, lo, hi = ratio_summary(times['grid'], times['exact'])
    (_, f1), (_, gf1) = outputs['exact'], outputs['grid']
    return '\n'.join([
        f'== threshold tuning, {num_images} x {NUM_CLASSES}',
        f'tune_thresholds (exact, all distinct scores): median '
        f'{statistics.median(times["exact"]):7.3f} s',
        f'stock grid search, {grid} thresholds       : median '
        f'{statistics.median(times["grid"]):7.3f} s',
        f'grid / exact: {med:.2f}x (min {lo:.2f}x, max {hi:.2f}x)',
        f'mean best F1: exact {f1.mean():.4f} vs grid {gf1.mean().item() / 100:.4f} '
        '(exact >= grid)'])


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--val', type=int, default=40137)
    parser.add_argument('--rounds', type=int, default=5, help='interleaved rounds per arm')
    parser.add_argument('--procs', type=int, default=2,
                        help='also time under this many processes (0 or 1: skip)')
    parser.add_argument('--procs-rounds', type=int, default=2,
                        help='interleaved rounds under --procs processes')
    parser.add_argument('--train', type=int, default=117266,
                        help='images of the tuning comparison (0: skip)')
    parser.add_argument('--grid', type=int, default=19,
                        help='thresholds of the stock grid-search baseline')
    args = parser.parse_args(argv)
    print(f'torch threads: {torch.get_num_threads()}, classes: {NUM_CLASSES}, '
          f'batches of {BATCH}')
    scores, targets = make_scores(args.val)
    samples = make_samples(scores, targets)
    times, outputs = run_arms(samples, range(args.val), args.rounds)
    print(report(f'evaluation, {args.val} x {NUM_CLASSES}, 1 process', times, outputs,
                 float64_reference(scores, targets)), flush=True)
    ratio = ratio_summary(times['stock'], times['suite'])[0]
    if args.procs > 1:
        print(run_distributed(args.val, args.procs, args.procs_rounds), flush=True)
    if args.train:
        print(run_tuning(args.train, args.grid, max(1, args.rounds // 2)))
    return ratio


if __name__ == '__main__':
    main()
