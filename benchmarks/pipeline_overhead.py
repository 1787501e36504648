"""Overhead of a ``tools/train.py`` iteration over the bare training step.

For each demo config, an MMEngine ``Runner`` is built as ``tools/train.py``
builds it (the config's optimizer wrapper, parameter schedulers, default
and custom hooks: logging, EMA, early stopping, ...; visualizer and log
processor), with one change: the training loader yields the same collated
batch every iteration (in memory, so that loading images is not part of
the figure; validation and checkpoint saving are off). A timing hook of the
lowest priority measures each full iteration (batch fetch, every hook,
``train_step``: data preprocessor, forward, loss parsing, backward, step),
then runs one bare step on the same model and batch: forward in ``'loss'``
mode on the preprocessed batch, backward, ``optimizer.step()``,
``zero_grad()`` (same optimizer object). The two alternate, so a busy
machine slows both alike. Printed: the median of the per-pair ratios
``iteration / bare``, its 95% bootstrap confidence interval (resampling the
pairs: the spread of the estimate, which narrows with more pairs), the
interquartile range and min / max of the single pairs (the machine's noise,
which does not), and the ratio of the two medians.

Usage::

    PYTHONPATH=. python benchmarks/pipeline_overhead.py [--iters 60] [--warmup 3]
        [--batch 32] [--threads 1] [--configs CONFIG ...]

On a shared or small CPU use ``--threads 1``: with one torch thread per core,
a core taken away for a moment stalls every parallel region, and single
pairs then scatter by +-20%.
"""
import argparse
import os
import statistics
import tempfile
import time
from typing import Dict, List, Tuple

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmpretrain.structures import DataSample

from mmpretrain_multilabel.apis.complexity import build_inference_model
from mmpretrain_multilabel.utils.stats import quartiles

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EPOCHS = 2  # of the in-memory loader
DEMO_CONFIGS = [
    'configs/demo/lite0_linear-asl_1xb32_demo-128px.py',
    'configs/demo/lite0_mld-aam-recipe_1xb32_demo-128px.py',
    'configs/demo/lite0_gat-cosine-aam_1xb32_demo-128px.py',
]


def make_batch(num_classes: int, batch: int, size: int) -> Dict:
    """A collated batch as the loader gives it: uint8 images, index labels."""
    g = torch.Generator().manual_seed(0)
    inputs = [torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8)
              for _ in range(batch)]
    samples = [DataSample().set_gt_label(
        torch.randperm(num_classes, generator=g)[:3].sort().values) for _ in range(batch)]
    return dict(inputs=inputs, data_samples=samples)


class PairTimer(Hook):
    """Times each runner iteration, then one bare step on the same batch.

    Args:
        batch (dict): The batch the loader repeats.
        warmup (int): Iterations not recorded.
    """

    priority = 'LOWEST'

    def __init__(self, batch: Dict, warmup: int) -> None:
        self.batch = batch
        self.warmup = warmup
        self.iteration: List[float] = []
        self.bare: List[float] = []
        self.start = 0.0

    def before_train_epoch(self, runner) -> None:
        self.start = time.perf_counter()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        took = time.perf_counter() - self.start
        model = runner.model
        optimizer = runner.optim_wrapper.optimizer
        data = model.data_preprocessor(self.batch, True)
        start = time.perf_counter()
        losses = model(data['inputs'], data['data_samples'], mode='loss')
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        optimizer.step()
        optimizer.zero_grad()
        bare = time.perf_counter() - start
        if runner.iter >= self.warmup:  # the run's iteration (batch_idx restarts each epoch)
            self.iteration.append(took)
            self.bare.append(bare)
        self.start = time.perf_counter()


def runner_for(cfg: Config, batch: Dict, iters: int, work_dir: str) -> Runner:
    """A ``Runner`` as ``tools/train.py`` builds it from ``cfg``, with an
    in-memory loader of ``batch``: two epochs of ``iters`` iterations in all (a
    schedule of the config's, such as the stock demo's warm-up epoch followed by
    cosine decay, needs more than one epoch)."""
    init_default_scope('mmpretrain')
    model = build_inference_model(cfg, random_graph=True)
    loader = torch.utils.data.DataLoader([batch] * -(-iters // EPOCHS), batch_size=None,
                                         collate_fn=lambda x: x)
    hooks = dict(cfg.default_hooks)
    hooks['checkpoint'] = None
    hooks['sampler_seed'] = None  # an in-memory list has no sampler to seed
    return Runner(
        model=model, work_dir=work_dir, train_dataloader=loader,
        train_cfg=dict(by_epoch=True, max_epochs=EPOCHS), optim_wrapper=cfg.optim_wrapper,
        param_scheduler=cfg.get('param_scheduler'), default_hooks=hooks,
        custom_hooks=cfg.get('custom_hooks'), log_processor=cfg.get('log_processor'),
        visualizer=cfg.get('visualizer'), env_cfg=cfg.get('env_cfg', {}),
        log_level='WARNING', default_scope='mmpretrain', randomness=cfg.get('randomness'),
        experiment_name=f'pipeline_{os.path.basename(cfg.filename)[:-3]}_{time.time_ns()}',
        cfg=cfg)  # hooks read top-level keys of it (lr_range_test)


def median_ci(values: List[float], level: float = 0.95, resamples: int = 2000,
              seed: int = 0) -> Tuple[float, float]:
    """Percentile bootstrap confidence interval of the median of ``values``."""
    g = torch.Generator().manual_seed(seed)
    x = torch.tensor(values, dtype=torch.float64)
    draws = x[torch.randint(len(values), (resamples, len(values)), generator=g)]
    medians = draws.quantile(0.5, dim=1)
    lo, hi = torch.quantile(medians, torch.tensor([(1 - level) / 2, (1 + level) / 2],
                                                  dtype=torch.float64)).tolist()
    return lo, hi


def measure(config: str, iters: int, warmup: int, batch_size: int, size: int) -> Dict:
    cfg = Config.fromfile(os.path.join(ROOT, config))
    batch = make_batch(cfg.model.head.num_classes, batch_size, size)
    with tempfile.TemporaryDirectory() as work_dir:
        runner = runner_for(cfg, batch, iters + warmup, work_dir)
        timer = PairTimer(batch, warmup)
        runner.register_hook(timer)
        runner.train()
    ratios = [a / b for a, b in zip(timer.iteration, timer.bare)]
    q1, med, q3 = quartiles(ratios)
    ci_lo, ci_hi = median_ci(ratios)
    iteration, bare = statistics.median(timer.iteration), statistics.median(timer.bare)
    return dict(config=os.path.basename(config), iteration=iteration, bare=bare, ratio=med,
                ci_lo=ci_lo, ci_hi=ci_hi, of_medians=iteration / bare, q1=q1, q3=q3,
                lo=min(ratios), hi=max(ratios), n=len(ratios))


def main(argv=None) -> List[Dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--configs', nargs='+', default=DEMO_CONFIGS)
    parser.add_argument('--iters', type=int, default=60, help='timed pairs per config')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--size', type=int, default=128)
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch default)')
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = [measure(c, args.iters, args.warmup, args.batch, args.size) for c in args.configs]
    print(f'Pipeline overhead, {args.size} px, batch {args.batch}, torch threads '
          f'{torch.get_num_threads()}, {args.iters} interleaved pairs after {args.warmup} '
          'warm-up iterations (target <= 1.05):\n')
    print('| config | iteration s | bare s | iteration / bare (median) | 95% CI | '
          'ratio of medians | IQR (pairs) | min - max |')
    print('|---|---|---|---|---|---|---|---|')
    for r in rows:
        print(f'| {r["config"]} | {r["iteration"]:.3f} | {r["bare"]:.3f} | {r["ratio"]:.3f} | '
              f'{r["ci_lo"]:.3f} - {r["ci_hi"]:.3f} | {r["of_medians"]:.3f} | '
              f'{r["q1"]:.3f} - {r["q3"]:.3f} | {r["lo"]:.3f} - {r["hi"]:.3f} |')
    return rows


if __name__ == '__main__':
    main()
