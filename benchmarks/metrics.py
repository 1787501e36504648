"""Time the metric suite against MMPretrain's stock metrics at COCO sizes,
side by side in one run, on each sample format the shipped configs produce.

Synthetic COCO-like predictions: 80 classes, 2.92 labels per image, sigmoid
scores in float32 made distinct within each class (where scores tie, the two
AP rules legitimately differ; ties are covered by the tests). Each sample is
what MMEngine's ``Evaluator`` hands to ``process``: a ``DataSample`` packed as
``PackInputs`` packs it, passed in batches through a real MMPretrain
``ClsDataPreprocessor`` (as the val loop does), given its ``pred_score`` and
turned into ``DataSample.to_dict()``. Sample formats (``--formats``):

- ``index``: ``gt_label`` only (a config without ``to_onehot``);
- ``onehot``: ``gt_label`` and the one-hot ``gt_score`` that
  ``ClsDataPreprocessor(to_onehot=True)`` adds (every shipped paper config);
- ``ignored``: ``gt_label`` and a float32 ``gt_score`` with -1 for ignored
  labels (``MarkIgnoredLabels``, OpenImages' unverified labels: half the
  negatives here);
- ``voc``: MMPretrain's VOC test pipeline: ``gt_label``, the
  ``gt_label_difficult`` meta key (10% of the positives difficult-only, 5%
  listed in both) and the one-hot ``gt_score`` of ``to_onehot=True``; the
  stock arm is then ``VOCAveragePrecision`` + ``VOCMultiLabelMetric``.

Per format, evaluation of 40,137 images (COCO-2014 val): ``MultiLabelSuite``
(mAP, CP/CR/CF1, OP/OR/OF1, mean F1 and the same at top-3) versus
MMPretrain's ``AveragePrecision`` + ``MultiLabelMetric(average='macro')`` +
``MultiLabelMetric(average='micro')`` (their VOC versions on ``voc``), each
through ``process()`` of every batch and ``evaluate()``. Rounds alternate the
order of the arms; the ratio is the median of the per-round ratios, with its
quartiles and range (process CPU time too: other jobs on the machine move it
less than wall time). Values: the suite must equal, key for key, the metrics
of the per-sample reference targets (``gt_score_of`` on every sample), and
the stock definitions (in float64) on the shared keys.

Optional: ``--before`` adds an arm with the per-sample target path
(``gt_score_of`` per sample in ``process``, as before the batched path);
``--procs N`` times every format again under N processes (gloo; each takes
its ``DefaultSampler`` share, collection included, timed on rank 0);
``--train N`` times ``tune_thresholds`` (exact per-class F1 optimum) on N
images against a 19-threshold grid search with
``MultiLabelMetric.calculate(average=None)``.

Usage::

    PYTHONPATH=. python benchmarks/metrics.py [--rounds 3] [--val 40137]
        [--batch 64] [--formats index onehot ignored voc] [--before] [--threads N]
        [--procs 2] [--procs-rounds 2] [--train 117266] [--grid 19]
"""
import argparse
import gc
import os
import statistics
import tempfile
import time
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
import torch
from mmpretrain.evaluation import (
    AveragePrecision,
    MultiLabelMetric,
    VOCAveragePrecision,
    VOCMultiLabelMetric,
)
from mmpretrain.models.utils import ClsDataPreprocessor
from mmpretrain.structures import DataSample

from mmpretrain_multilabel.evaluation import multilabel_metrics, tune_thresholds
from mmpretrain_multilabel.evaluation.metrics import MultiLabelSuite, gt_score_of

NUM_CLASSES = 80
LABELS_PER_IMAGE = 2.92
FORMATS = ('index', 'onehot', 'ignored', 'voc')
FORMAT_NAMES = {
    'index': 'index gt_label only',
    'onehot': 'gt_label + one-hot gt_score (to_onehot=True)',
    'ignored': 'gt_label + gt_score with -1 (ignored labels)',
    'voc': 'VOC: gt_label_difficult + one-hot gt_score',
}
#: suite key -> stock key (all with the ``multi-label/`` prefix)
SHARED_KEYS = {'mAP': 'mAP', 'CP': 'precision', 'CR': 'recall', 'mean-F1': 'f1-score',
               'OP': 'precision_micro', 'OR': 'recall_micro', 'OF1': 'f1-score_micro'}


def make_scores(num_images: int, seed: int = 0) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(N, 80)`` float32 scores (distinct within each class) and 0/1
    targets.

    Args:
        num_images (int): ``N``.
        seed (int): Random seed.

    Returns:
        tuple: Scores and targets, both ``(N, 80)`` float32.
    """
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


def format_labels(targets: torch.Tensor, fmt: str, seed: int = 0) -> Dict[str, torch.Tensor]:
    """The label matrices a format is built from.

    Args:
        targets (torch.Tensor): ``(N, K)`` 0/1 targets.
        fmt (str): One of :data:`FORMATS`.
        seed (int): Random seed of the ignored and difficult labels.

    Returns:
        dict: ``label`` (bool, ``gt_label``), ``score`` (float32 1 / 0 / -1
        ``gt_score``, for ``ignored``), ``difficult`` (bool,
        ``gt_label_difficult``, for ``voc``) and ``expected`` (the 1 / 0 / -1
        targets the metrics must see).
    """
    g = torch.Generator().manual_seed(seed + 1)
    positive = targets > 0.5
    out = dict(label=positive, expected=targets.clone())
    if fmt == 'ignored':
        unverified = ~positive & (torch.rand(targets.shape, generator=g) < 0.5)
        score = positive.float().masked_fill(unverified, -1)
        out.update(score=score, expected=score)
    elif fmt == 'voc':
        draw = torch.rand(targets.shape, generator=g)
        only_difficult = positive & (draw < 0.10)
        both = positive & (draw >= 0.10) & (draw < 0.15)
        out.update(label=positive & ~only_difficult, difficult=only_difficult | both,
                   expected=targets.masked_fill(only_difficult, -1))
    return out


def packed_samples(labels: Dict[str, torch.Tensor]) -> List[DataSample]:
    """``DataSample``s as ``PackInputs`` packs them (before the data
    preprocessor).

    Args:
        labels (dict): See :func:`format_labels`.

    Returns:
        list: One ``DataSample`` per image.
    """
    samples = []
    for i, row in enumerate(labels['label']):
        sample = DataSample().set_gt_label(row.nonzero().flatten())
        if 'score' in labels:
            sample.set_gt_score(labels['score'][i].numpy())
        if 'difficult' in labels:
            sample.set_metainfo(dict(
                gt_label_difficult=labels['difficult'][i].nonzero().flatten().tolist()))
        samples.append(sample)
    return samples


def preprocessed_batches(samples: Sequence[DataSample], scores: torch.Tensor,
                         indices: Sequence[int], batch: int, to_onehot: bool) -> List[List[dict]]:
    """Batches as MMEngine's ``Evaluator`` passes them to ``process``.

    Each batch goes through a real ``ClsDataPreprocessor`` (tiny dummy
    images), then every sample gets its ``pred_score`` (a row of the batch's
    score tensor, as the heads set it) and becomes ``to_dict()``.

    Args:
        samples (Sequence[DataSample]): Packed samples, one per image.
        scores (torch.Tensor): ``(N, K)`` scores.
        indices (Sequence[int]): The images of this process, in order.
        batch (int): Batch size.
        to_onehot (bool): ``ClsDataPreprocessor(to_onehot=...)``.

    Returns:
        list: Batches of per-sample dicts.
    """
    preprocessor = ClsDataPreprocessor(num_classes=NUM_CLASSES, to_onehot=to_onehot)
    image = torch.zeros(3, 1, 1, dtype=torch.uint8)
    indices = list(indices)
    batches = []
    for start in range(0, len(indices), batch):
        chunk = indices[start:start + batch]
        data = dict(inputs=[image] * len(chunk), data_samples=[samples[i] for i in chunk])
        out = preprocessor(data, training=False)['data_samples']
        batch_scores = scores[chunk]
        batches.append([s.set_pred_score(p).to_dict() for s, p in zip(out, batch_scores)])
    return batches


def make_batches(fmt: str, scores: torch.Tensor, targets: torch.Tensor,
                 indices: Sequence[int], batch: int) -> Tuple[List[List[dict]], torch.Tensor]:
    """Batches of one format and the 1 / 0 / -1 targets they encode.

    Args:
        fmt (str): One of :data:`FORMATS`.
        scores (torch.Tensor): ``(N, K)`` scores.
        targets (torch.Tensor): ``(N, K)`` 0/1 targets.
        indices (Sequence[int]): The images of this process, in order.
        batch (int): Batch size.

    Returns:
        tuple: The batches and the ``(N, K)`` expected targets.
    """
    labels = format_labels(targets, fmt)
    samples = packed_samples(labels)
    batches = preprocessed_batches(samples, scores, indices, batch, to_onehot=fmt != 'index')
    return batches, labels['expected']


def stock_metrics(fmt: str) -> list:
    """MMPretrain's three metrics (the VOC ones for the VOC format)."""
    if fmt == 'voc':
        return [VOCAveragePrecision(), VOCMultiLabelMetric(average='macro'),
                VOCMultiLabelMetric(average='micro')]
    return [AveragePrecision(), MultiLabelMetric(average='macro'),
            MultiLabelMetric(average='micro')]


class PerSampleSuite(MultiLabelSuite):
    """The suite with the per-sample target path it had before the batched
    one (``gt_score_of`` on every sample): the ``--before`` arm."""

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        scores = torch.stack([s['pred_score'] for s in data_samples]).detach().float().cpu()
        targets = torch.stack([gt_score_of(s, scores.shape[1], self.difficult_as_positive)
                               for s in data_samples])
        self.results.append(dict(pred_score=scores, gt_score=targets))


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
    """Wall seconds of each arm per round (order alternating), the last
    outputs, and the process CPU seconds (key ``<arm>-cpu``; less moved than
    wall time when other jobs share the CPU)."""
    times = {name: [] for name in arms}
    times.update({f'{name}-cpu': [] for name in arms})
    outputs = {}
    names = list(arms)
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            gc.collect()  # untimed: an arm pays for its own garbage only
            barrier()
            start, cpu = time.perf_counter(), time.process_time()
            outputs[name] = arms[name]()
            times[name].append(time.perf_counter() - start)
            times[f'{name}-cpu'].append(time.process_time() - cpu)
    return times, outputs


def ratio_summary(num: Sequence[float], den: Sequence[float]) -> Dict[str, float]:
    """Median, quartiles, min and max of the per-round ratios ``num / den``."""
    ratios = [a / b for a, b in zip(num, den)]
    q1, med, q3 = np.percentile(ratios, [25, 50, 75])  # within the range, any count
    return dict(median=med, q1=q1, q3=q3, min=min(ratios), max=max(ratios))


def max_difference(stock: Dict, suite: Dict) -> float:
    """Largest difference over the shared keys (percent)."""
    return max(abs(suite[f'multi-label/{a}'] - stock[f'multi-label/{b}'])
               for a, b in SHARED_KEYS.items())


def float64_reference(scores: torch.Tensor, targets: torch.Tensor) -> Dict[str, float]:
    """The stock definitions evaluated in float64 (``MultiLabelMetric``
    accumulates in float32, which moves its percentages by up to ~1e-5):
    ``AveragePrecision.calculate`` on float64 input, and macro / micro
    precision, recall and F1 at ``score >= 0.5`` in numpy float64, -1
    targets left out (as the stock metrics do).

    Args:
        scores (torch.Tensor): ``(N, K)`` scores.
        targets (torch.Tensor): ``(N, K)`` 1 / 0 / -1 targets.

    Returns:
        dict: Stock keys (with the ``multi-label/`` prefix) to percent.
    """
    valid = (targets >= 0).numpy()
    pred = ((scores >= 0.5).numpy() & valid).astype(np.float64)
    gt = (targets == 1).numpy().astype(np.float64)
    tp, pp, pg = (pred * gt).sum(0), pred.sum(0), gt.sum(0)

    def ratio(a, b):
        return np.divide(a, b, out=np.zeros_like(np.asarray(a, np.float64)), where=b > 0)

    p, r = ratio(tp, pp), ratio(tp, pg)
    op, or_ = ratio(tp.sum(), pp.sum()), ratio(tp.sum(), pg.sum())
    values = {'mAP': AveragePrecision.calculate(scores.double(), targets.double()).item() / 100,
              'CP': p.mean(), 'CR': r.mean(), 'mean-F1': ratio(2 * p * r, p + r).mean(),
              'OP': op, 'OR': or_, 'OF1': ratio(2 * op * or_, op + or_)}
    return {f'multi-label/{SHARED_KEYS[k]}': float(v) * 100 for k, v in values.items()}


def per_sample_reference(batches: Sequence[Sequence[dict]]) -> Dict[str, object]:
    """The suite's metrics on the per-sample reference targets
    (``gt_score_of`` on every sample), with the suite's prefix."""
    scores = torch.stack([s['pred_score'] for b in batches for s in b]).float()
    targets = torch.stack([gt_score_of(s, NUM_CLASSES) for b in batches for s in b])
    values = multilabel_metrics(scores, targets, topk=3)
    return {f'multi-label/{k}': v for k, v in values.items()}


def run_arms(fmt: str, batches: List[List[dict]], size: int, rounds: int, before: bool,
             barrier: Callable[[], None] = lambda: None):
    """Time the stock metrics, the suite (and the per-sample arm) on one
    format's batches."""
    arms = {'stock': lambda: evaluate(stock_metrics(fmt), batches, size),
            'suite': lambda: evaluate([MultiLabelSuite()], batches, size)}
    if before:
        arms['before'] = lambda: evaluate([PerSampleSuite()], batches, size)
    return interleaved(arms, rounds, barrier)


def format_row(fmt: str, times: Dict[str, List[float]], outputs: Dict,
               reference: Dict, float64: Dict[str, float]) -> Dict[str, object]:
    """One row of the result table: times, ratios and value checks."""
    row = dict(fmt=fmt, rounds=len(times['suite']),
               stock=statistics.median(times['stock']),
               suite=statistics.median(times['suite']),
               ratio=ratio_summary(times['stock'], times['suite']),
               cpu_ratio=ratio_summary(times['stock-cpu'], times['suite-cpu'])['median'],
               equal=outputs['suite'] == reference,
               float64=max_difference(float64, outputs['suite']),
               as_run=max_difference(outputs['stock'], outputs['suite']))
    if 'before' in times:
        row.update(before=statistics.median(times['before']),
                   before_ratio=ratio_summary(times['stock'], times['before'])['median'],
                   before_equal=outputs['before'] == reference)
    return row


def table(title: str, rows: Sequence[Dict[str, object]]) -> str:
    """The result rows as a markdown table."""
    before = all('before' in r for r in rows)
    head = ['sample format', 'stock (median)', 'suite (median)',
            'stock / suite: median (IQR; min - max)', 'CPU time: stock / suite',
            'suite == per-sample reference',
            'max |suite - stock defs, float64|', 'max |suite - stock as run|']
    if before:
        head[3:3] = ['per-sample path (before)', 'stock / before']
    lines = [f'== {title}', '| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for r in rows:
        q = r['ratio']
        cells = [FORMAT_NAMES[r['fmt']], f'{r["stock"]:.2f} s', f'{r["suite"]:.3f} s',
                 f'**{q["median"]:.1f}x** ({q["q1"]:.1f} - {q["q3"]:.1f}; '
                 f'{q["min"]:.1f} - {q["max"]:.1f})', f'{r["cpu_ratio"]:.1f}x',
                 'yes' if r['equal'] else 'NO', f'{r["float64"]:.1e}', f'{r["as_run"]:.1e}']
        if before:
            cells[3:3] = [f'{r["before"]:.3f} s'
                          + ('' if r['before_equal'] else ' (values differ!)'),
                          f'{r["before_ratio"]:.1f}x']
        lines.append('| ' + ' | '.join(cells) + ' |')
    lines.append(f'{rows[0]["rounds"]} interleaved rounds per format; target: stock / suite '
                 '>= 10x, suite equal to the per-sample reference on every key, within 1e-6 '
                 'of the stock definitions in float64 (percent; the stock metrics as run '
                 'sum in float32)')
    return '\n'.join(lines)


def measure_format(fmt: str, num_images: int, batch: int, rounds: int,
                   before: bool) -> Dict[str, object]:
    """Build one format's batches and time the arms on it (1 process)."""
    scores, targets = make_scores(num_images)
    batches, expected = make_batches(fmt, scores, targets, range(num_images), batch)
    times, outputs = run_arms(fmt, batches, num_images, rounds, before)
    return format_row(fmt, times, outputs, per_sample_reference(batches),
                      float64_reference(scores, expected))


def _dist_worker(rank: int, world_size: int, init_file: str, fmt: str, num_images: int,
                 batch: int, rounds: int, out_file: str) -> None:
    import datetime

    import torch.distributed as dist
    from mmengine.dataset import DefaultSampler
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world_size, timeout=datetime.timedelta(seconds=600))
    scores, targets = make_scores(num_images)
    indices = list(DefaultSampler(list(range(num_images)), shuffle=False))
    batches, _ = make_batches(fmt, scores, targets, indices, batch)
    times, outputs = run_arms(fmt, batches, num_images, rounds, False, barrier=dist.barrier)
    if rank == 0:
        torch.save(dict(times=times, outputs=outputs), out_file)
    dist.barrier()
    dist.destroy_process_group()


def measure_distributed(fmt: str, num_images: int, batch: int, procs: int,
                        rounds: int) -> Dict[str, object]:
    """One format under ``procs`` processes; the values are checked against
    the 1-process per-sample reference."""
    import torch.multiprocessing as mp
    with tempfile.TemporaryDirectory() as tmp:
        out_file = os.path.join(tmp, 'times.pt')
        mp.spawn(_dist_worker, args=(procs, os.path.join(tmp, 'init'), fmt, num_images, batch,
                                     rounds, out_file), nprocs=procs)
        result = torch.load(out_file)
    scores, targets = make_scores(num_images)
    batches, expected = make_batches(fmt, scores, targets, range(num_images), batch)
    return format_row(fmt, result['times'], result['outputs'], per_sample_reference(batches),
                      float64_reference(scores, expected))


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
    q = ratio_summary(times['grid'], times['exact'])
    (_, f1), (_, gf1) = outputs['exact'], outputs['grid']
    return '\n'.join([
        f'== threshold tuning, {num_images} x {NUM_CLASSES}',
        f'tune_thresholds (exact, all distinct scores): median '
        f'{statistics.median(times["exact"]):7.3f} s',
        f'stock grid search, {grid} thresholds       : median '
        f'{statistics.median(times["grid"]):7.3f} s',
        f'grid / exact: {q["median"]:.2f}x (min {q["min"]:.2f}x, max {q["max"]:.2f}x)',
        f'mean best F1: exact {f1.mean():.4f} vs grid {gf1.mean().item() / 100:.4f} '
        '(exact >= grid)'])


def main(argv=None) -> Dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--val', type=int, default=40137)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--rounds', type=int, default=3, help='interleaved rounds per arm')
    parser.add_argument('--formats', nargs='+', choices=FORMATS, default=list(FORMATS))
    parser.add_argument('--before', action='store_true',
                        help="also time the per-sample target path ('gt_score_of')")
    parser.add_argument('--procs', type=int, default=0,
                        help='also time under this many processes (0 or 1: skip)')
    parser.add_argument('--procs-rounds', type=int, default=2,
                        help='interleaved rounds under --procs processes')
    parser.add_argument('--train', type=int, default=0,
                        help='images of the tuning comparison (0: skip; COCO-2017 train: '
                        '117266)')
    parser.add_argument('--grid', type=int, default=19,
                        help='thresholds of the stock grid-search baseline')
    parser.add_argument('--threads', type=int, default=None,
                        help="torch threads (default: torch's own choice)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f'torch threads: {torch.get_num_threads()}, classes: {NUM_CLASSES}, '
          f'batches of {args.batch}', flush=True)
    rows = []
    for fmt in args.formats:
        rows.append(measure_format(fmt, args.val, args.batch, args.rounds, args.before))
        print(f'{fmt}: {rows[-1]["ratio"]["median"]:.1f}x', flush=True)
    print(table(f'evaluation, {args.val} x {NUM_CLASSES}, 1 process', rows), flush=True)
    if args.procs > 1:
        dist_rows = [measure_distributed(fmt, args.val, args.batch, args.procs,
                                         args.procs_rounds) for fmt in args.formats]
        print(table(f'evaluation, {args.val} x {NUM_CLASSES}, {args.procs} processes (gloo, '
                    'collection included)', dist_rows), flush=True)
    if args.train:
        print(run_tuning(args.train, args.grid, max(1, args.rounds // 2)))
    return {r['fmt']: r['ratio']['median'] for r in rows}


if __name__ == '__main__':
    main()
