"""Train demo configs under one budget and compare their best validation mAP.

Usage::

    python benchmarks/demo_comparison.py [CONFIG ...] [--epochs 3] [--seeds 0 1]
        [--parallel 1] [--workers 0] [--cfg-options KEY=VALUE ...]
        [--work-dir work_dirs/demo_comparison]

Each config is trained by ``tools/train.py`` in its own process and work
directory, with ``max_epochs`` (and OneCycle's ``total_steps``) set to the
same budget. The score of a run is its best validation mAP over epochs; for
runs that also evaluate EMA weights, the best of the raw and EMA models (the
quantity the recipe's checkpointing keeps). Scores are averaged over
``--seeds``. On a GPU machine, ``--parallel`` trains several configs at once
(they barely load the GPU); keep 1 on a small CPU, where parallel runs only
compete for the cores.
"""
import argparse
import json
import os
import os.path as osp
import platform
import subprocess
import sys
import time
from glob import glob
from typing import List, Optional

import numpy as np
import torch
from mmengine.config import Config, DictAction

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(HERE)
DEMO = osp.join(ROOT, 'configs', 'demo')
DEFAULT_CONFIGS = [
    'lite0_linear-asl_1xb32_demo-128px.py',
    'lite0_cosine-aam_1xb32_demo-128px.py',
    'lite0_mld-aam_1xb32_demo-128px.py',
    'lite0_mld-aam-recipe-sam_1xb32_demo-128px.py',
    'lite0_mld-aam-recipe_1xb32_demo-128px.py',
]


def budget_config(config: str, epochs: Optional[int], workers: Optional[int], seed: int,
                  options: Optional[dict] = None) -> Config:
    """``config`` with every schedule length set to ``epochs`` epochs."""
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options or {})
    cfg.randomness = dict(seed=seed, deterministic=False)
    if epochs is not None:
        cfg.train_cfg.max_epochs = epochs
        schedulers = cfg.param_scheduler
        for scheduler in schedulers if isinstance(schedulers, list) else [schedulers]:
            if 'total_steps' in scheduler:  # OneCycle: its length is fixed when built
                scheduler.total_steps = epochs
    if workers is not None:
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            cfg[loader].num_workers = workers
            cfg[loader].persistent_workers = workers > 0
    return cfg


def best_map(work_dir: str) -> Optional[float]:
    """Best validation mAP of a run: max over epochs and over raw/EMA keys."""
    scores = []
    for path in glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')):
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                scores += [v for k, v in record.items() if k.startswith('multi-label/mAP')]
    return max(scores) if scores else None


def launch(cfg: Config, work_dir: str) -> subprocess.Popen:
    os.makedirs(work_dir, exist_ok=True)
    cfg_path = osp.join(work_dir, 'budget_config.py')
    cfg.dump(cfg_path)
    log = open(osp.join(work_dir, 'train.log'), 'w')
    return subprocess.Popen(
        [sys.executable, osp.join(ROOT, 'tools', 'train.py'), cfg_path, '--work-dir', work_dir],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def main(argv: Optional[List[str]] = None) -> List[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='*', help='configs (default: the demo heads)')
    parser.add_argument('--epochs', type=int, help='budget (default: each config\'s own)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='overrides applied to every config')
    parser.add_argument('--parallel', type=int, default=1, help='runs at a time')
    parser.add_argument('--workers', type=int, help='dataloader workers per run')
    parser.add_argument('--work-dir', default=osp.join(ROOT, 'work_dirs', 'demo_comparison'))
    args = parser.parse_args(argv)
    configs = args.configs or [osp.join(DEMO, name) for name in DEFAULT_CONFIGS]

    pending = [(config, seed) for config in configs for seed in args.seeds]
    running, runs = {}, []
    while pending or running:
        while pending and len(running) < args.parallel:
            config, seed = pending.pop(0)
            work_dir = osp.join(args.work_dir, f'{config_name(config)}_seed{seed}')
            cfg = budget_config(config, args.epochs, args.workers, seed, args.cfg_options)
            running[work_dir] = (launch(cfg, work_dir), config, cfg.train_cfg.max_epochs,
                                 time.perf_counter())
        time.sleep(1)
        for work_dir, (proc, config, epochs, start) in list(running.items()):
            if proc.poll() is None:
                continue
            del running[work_dir]
            runs.append(dict(config=config, epochs=epochs, wall_s=time.perf_counter() - start,
                             mAP=None if proc.returncode else best_map(work_dir)))

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else (
        f'CPU ({os.cpu_count()} cores, {platform.processor() or platform.machine()})')
    print(f'Demo comparison on {device}, {args.parallel} run(s) at a time, '
          f'seeds {args.seeds}\n')
    print('| config | epochs | best val mAP per seed | mean | wall per run (s) |')
    print('|---|---|---|---|---|')
    for config in configs:
        mine = [run for run in runs if run['config'] == config]
        scores = [run['mAP'] for run in mine]
        per_seed = ' / '.join('failed' if s is None else f'{s:.2f}' for s in scores)
        mean = 'n/a' if None in scores else f'{np.mean(scores):.2f}'
        wall = np.mean([run['wall_s'] for run in mine])
        print(f"| {config_name(config)} | {mine[0]['epochs']} | {per_seed} | {mean} | "
              f'{wall:.0f} |')
    return runs


def config_name(config: str) -> str:
    return osp.splitext(osp.basename(config))[0]


if __name__ == '__main__':
    main()
