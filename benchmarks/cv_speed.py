"""Per-iteration cost of the coco319 cross-validation's training, per speed option.

Usage::

    python benchmarks/cv_speed.py [--data-root ../shared/data/coco319]
        [--config lite0_cosine-aam-transfer-recipe_1xb16_coco319-224px.py]
        [--rounds 6] [--iters 3] [--warmup ITERS] [--threads 1] [--options NAME ...]

Each option is one MMEngine runner built as ``benchmarks/coco_cv.py``
builds a fold's (the shipped real-photo config through
:func:`~mmpretrain_multilabel.apis.short_run.short_run_config`: its data
preprocessor, its pipeline on the real photos of fold 0, its optimizer
wrapper, schedulers and hooks, EMA included), with the option's switches. An
iteration is what MMEngine's ``EpochBasedTrainLoop`` runs: fetch the batch
(decode, resize, flip, RandAugment, Cutout, collate), the ``before_train_iter``
hooks, ``model.train_step`` (data preprocessor, forward, loss, backward, both
SAM passes, optimizer step), the ``after_train_iter`` hooks (EMA, schedulers,
logging). Every runner first trains one full epoch (the image cache is then
warm, as in epochs 2-12 of a run); then rounds: each option runs ``--iters``
iterations, the options in a rotating order, so that a busy machine slows all
alike. Printed per option: the median wall time per iteration and its
quartiles, the per-round ratio today / option (median and min-max over
rounds), the same ratio of process CPU times (steadier on a shared machine),
and where the wall time goes (batch fetch, train step, hooks).

Options (``today`` is the stock forward with every switch off):

- ``cache frozen``: the frozen stages once per batch, without autograd; SAM's
  second pass reuses them (exact).
- ``fold BN``, ``channels_last``: the frozen stages as a copy with the batch
  norms folded, or in the channels_last format (float rounding).
- ``image cache``: the decoded, resized images kept in memory (exact).
- ``exact``: cache frozen + image cache.
- ``all (default)``: what short runs use (:data:`~.short_run.SPEEDUPS`).
- ``bf16 autocast``: today's iteration under ``torch.autocast('cpu',
  bfloat16)``.

``--threads 1`` (default) is what ``coco_cv.py --jobs 2`` gives each run.
"""
import argparse
import logging
import math
import os
import os.path as osp
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from typing import Callable, Dict, Iterator, List, Optional

import torch
from mmengine.config import Config

import mmpretrain_multilabel  # noqa: F401  registers the components
from mmpretrain_multilabel.apis.launch import build_runner
from mmpretrain_multilabel.apis.short_run import SPEEDUPS, short_run_config
from mmpretrain_multilabel.datasets import CocoMultiLabel, kfold_indices
from mmpretrain_multilabel.utils.stats import quartiles

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(HERE)
CONFIGS = osp.join(ROOT, 'configs', 'coco319')
DATA = osp.join(osp.dirname(ROOT), 'shared', 'data', 'coco319')
CONFIG = 'lite0_cosine-aam-transfer-recipe_1xb16_coco319-224px.py'
ANN = 'annotations/instances_train2017.json'
OFF = {k: False for k in SPEEDUPS}

#: option -> (short-run switches or None for today's forward, bf16 autocast)
OPTIONS: Dict[str, tuple] = {
    'today': (None, False),
    'cache frozen': ({**OFF, 'cache_frozen': True}, False),
    'fold BN': ({**OFF, 'fold_frozen_bn': True}, False),
    'channels_last': ({**OFF, 'frozen_channels_last': True}, False),
    'image cache': ({**OFF, 'image_cache': True}, False),
    'exact': ({**OFF, 'cache_frozen': True, 'image_cache': True}, False),
    'all (default)': (dict(SPEEDUPS), False),
    'bf16 autocast': (None, True),
}


def option_config(config: str, data_root: str, switches: Optional[dict], epochs: int,
                  work_dir: str) -> Config:
    """Fold 0 of ``coco_cv.py``'s 3-fold split of ``data_root`` as a short
    run of ``config`` with ``switches`` (None: today's forward, every switch off)."""
    num = len(CocoMultiLabel(ann_file=ANN, data_root=data_root))
    train, val = kfold_indices(num, 3, seed=0)[0]
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    if switches is None:
        cfg.model.backbone.cache_frozen = False  # with no switch on: the stock forward
        cfg = short_run_config(cfg, epochs, work_dir, data_root, train, val, 0,
                               speedups=False)
    else:
        cfg.short_run_speedups = switches
        cfg = short_run_config(cfg, epochs, work_dir, data_root, train, val, 0)
    cfg.log_level = 'ERROR'  # not the frozen parameters the optimizer skips
    return cfg


def start_training(runner) -> None:
    """What ``Runner.train`` does before its loop (MMEngine 0.10)."""
    runner._train_loop = runner.build_train_loop(runner._train_loop)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.scale_lr(runner.optim_wrapper, runner.auto_scale_lr)
    if runner.param_schedulers is not None:
        runner.param_schedulers = runner.build_param_scheduler(runner.param_schedulers)
    runner.call_hook('before_run')
    runner._init_model_weights()
    runner.load_or_resume()
    runner.optim_wrapper.initialize_count_status(
        runner.model, runner.train_loop.iter, runner.train_loop.max_iters)


def iterations(runner, parts: Dict[str, List[float]]) -> Iterator[None]:
    """``EpochBasedTrainLoop.run`` one iteration per ``next()``, epoch after
    epoch; appends the wall time of the batch fetch, the train step and the
    hooks of each iteration to ``parts``."""
    loop = runner.train_loop
    runner.call_hook('before_train')
    while True:
        runner.call_hook('before_train_epoch')
        runner.model.train()
        batches = iter(loop.dataloader)
        idx = 0
        while True:
            t0 = time.perf_counter()
            try:
                batch = next(batches)
            except StopIteration:
                break
            t1 = time.perf_counter()
            runner.call_hook('before_train_iter', batch_idx=idx, data_batch=batch)
            t2 = time.perf_counter()
            outputs = runner.model.train_step(batch, optim_wrapper=runner.optim_wrapper)
            t3 = time.perf_counter()
            runner.call_hook('after_train_iter', batch_idx=idx, data_batch=batch,
                             outputs=outputs)
            loop._iter += 1
            idx += 1
            parts['fetch'].append(t1 - t0)
            parts['step'].append(t3 - t2)
            parts['hooks'].append(t2 - t1 + time.perf_counter() - t3)
            yield
        runner.call_hook('after_train_epoch')
        loop._epoch += 1


class Option:
    """One option's runner, stepped one iteration at a time."""

    def __init__(self, name: str, config: str, data_root: str, epochs: int, work_dir: str):
        switches, self.bf16 = OPTIONS[name]
        cfg = option_config(config, data_root, switches, epochs, osp.join(work_dir, name))
        self.runner = build_runner(cfg)
        start_training(self.runner)
        self.parts: Dict[str, List[float]] = {'fetch': [], 'step': [], 'hooks': []}
        self.steps = iterations(self.runner, self.parts)
        self.wall: List[float] = []
        self.cpu: List[float] = []
        self.iters_per_epoch = len(self.runner.train_loop.dataloader)

    def context(self):
        return torch.autocast('cpu', dtype=torch.bfloat16) if self.bf16 else nullcontext()

    def run(self, n: int, record: bool = True) -> None:
        for _ in range(n):
            w, c = time.perf_counter(), time.process_time()
            with self.context():
                next(self.steps)
            if record:
                self.wall.append(time.perf_counter() - w)
                self.cpu.append(time.process_time() - c)
        if not record:
            for values in self.parts.values():
                values.clear()


def ratio_stats(base: List[float], other: List[float], per_round: int) -> tuple:
    """Median and range over rounds of today's median / the option's median."""
    ratios = []
    for r in range(len(base) // per_round):
        chunk = slice(r * per_round, (r + 1) * per_round)
        ratios.append(statistics.median(base[chunk]) / statistics.median(other[chunk]))
    return statistics.median(ratios), min(ratios), max(ratios)


def cpu_name() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return 'unknown CPU'


def cpu_flags() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            flags = next(line for line in f if line.startswith('flags')).split()
    except (OSError, StopIteration):
        return ''
    wanted = ('avx512f', 'avx512_bf16', 'amx_bf16', 'amx_tile')
    return ', '.join(f"{w} {'yes' if w in flags else 'no'}" for w in wanted)


def main(argv: Optional[List[str]] = None, log: Callable = print) -> Dict[str, dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', default=DATA)
    parser.add_argument('--config', default=CONFIG, help='a config of configs/coco319/')
    parser.add_argument('--options', nargs='+', default=list(OPTIONS), choices=list(OPTIONS),
                        metavar='OPTION')
    parser.add_argument('--rounds', type=int, default=6)
    parser.add_argument('--iters', type=int, default=3, help='iterations per option per round')
    parser.add_argument('--warmup', type=int, default=None,
                        help='iterations per option before the rounds (default: one epoch, '
                        'so that the image cache is warm)')
    parser.add_argument('--threads', type=int, default=1, help='torch threads (default 1, '
                        'as each run of coco_cv.py --jobs 2)')
    args = parser.parse_args(argv)
    if not osp.isdir(osp.join(args.data_root, 'train2017')):
        log(f'SKIPPED: coco319 not found at {osp.abspath(args.data_root)} (--data-root); '
            'it holds COCO-2017 train photos and their instances JSON, see '
            '../shared/data/README.md')
        return {}
    torch.set_num_threads(args.threads)
    logging.getLogger('mmengine').setLevel(logging.WARNING)
    names = ['today'] + [n for n in args.options if n != 'today']
    with tempfile.TemporaryDirectory() as tmp:
        num = len(CocoMultiLabel(ann_file=ANN, data_root=args.data_root))
        batch = Config.fromfile(osp.join(CONFIGS, args.config)) \
            .train_dataloader.batch_size
        per_epoch = math.ceil(len(kfold_indices(num, 3, seed=0)[0][0]) / batch)
        warmup = per_epoch if args.warmup is None else args.warmup
        # enough epochs that the schedule outlasts warm-up and rounds
        epochs = 2 + (warmup + args.rounds * args.iters) // per_epoch
        options = {}
        for name in names:
            options[name] = Option(name, args.config, args.data_root, epochs, tmp)
            options[name].run(warmup, record=False)  # one epoch: the caches warm
        for r in range(args.rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                options[name].run(args.iters)
    base = options['today']
    log(f'{args.config}, coco319 fold 0 ({per_epoch} iterations per epoch, batch 16, 224 px), '
        f'{args.rounds} rounds x {args.iters} iterations per option; torch {torch.__version__}, '
        f'{args.threads} thread(s); {cpu_name()} ({cpu_flags()}), {os.cpu_count()} CPU(s)\n')
    log('| option | wall / iteration (ms), median [q1, q3] | speedup (wall) | '
        'speedup (CPU time) | fetch / step / hooks (ms) |')
    log('|---|---|---|---|---|')
    results = {}
    for name in names:
        o = options[name]
        q1, med, q3 = quartiles(o.wall)
        wr = ratio_stats(base.wall, o.wall, args.iters)
        cr = ratio_stats(base.cpu, o.cpu, args.iters)
        parts = ' / '.join(f'{statistics.median(o.parts[k]) * 1000:.0f}'
                           for k in ('fetch', 'step', 'hooks'))
        results[name] = dict(wall=med, wall_ratio=wr, cpu_ratio=cr)
        log(f'| {name} | {med * 1000:.0f} [{q1 * 1000:.0f}, {q3 * 1000:.0f}] | '
            f'**{wr[0]:.2f}x** ({wr[1]:.2f}-{wr[2]:.2f}) | '
            f'{cr[0]:.2f}x ({cr[1]:.2f}-{cr[2]:.2f}) | {parts} |')
    return results


if __name__ == '__main__':
    sys.exit(0 if main() is not None else 1)
