"""k-fold cross-validation of the coco128 recipes on real COCO photos.

Usage::

    python benchmarks/coco128_cv.py [--rows ROW ...] [--folds 3] [--epochs 12]
        [--seeds 0] [--data-root ../shared/data/coco128] [--threads 2]

Every row trains one shipped config of ``configs/coco128/`` (optionally with
SAM and EMA switched off) on ``k - 1`` folds of the 126 annotated coco128
photos and evaluates on the remaining fold, for every fold, under the same
epoch budget; nothing is selected on the held-out fold (no early stopping, no
best-epoch pick: the model evaluated is the one training ends with, the EMA
weights when the row keeps an EMA, as its checkpoint would hold). mAP averages
over the classes present in the held-out fold; its chance level (a random
ranking: each class's positive rate) is printed beside it. The table gives the
mean and the spread (sample standard deviation) over folds x seeds.
"""
import argparse
import copy
import logging
import os
import os.path as osp
import tempfile
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger
from mmengine.runner import Runner

import mmpretrain_multilabel  # noqa: F401  registers the components
from mmpretrain_multilabel.datasets import CocoMultiLabel, kfold_indices
from mmpretrain_multilabel.evaluation import chance_map

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(HERE)
CONFIGS = osp.join(ROOT, 'configs', 'coco128')
ANN = 'annotations/instances_train2017.json'
NO_SAM = {'optim_wrapper.type': 'OptimWrapper'}
NO_EMA = {'drop_hooks': ['EMAHook']}

#: row name -> (config in configs/coco128/, overrides)
ROWS: Dict[str, tuple] = {
    'stock: linear + ASL (AdamW)': ('lite0_linear-asl_1xb16_coco128-224px.py', {}),
    'linear + ASL + recipe': ('lite0_linear-asl-recipe_1xb16_coco128-224px.py', {}),
    'linear + ASL + recipe, no SAM/EMA': (
        'lite0_linear-asl-recipe_1xb16_coco128-224px.py', {**NO_SAM, **NO_EMA}),
    'cosine + AAM + recipe': ('lite0_cosine-aam-recipe_1xb16_coco128-224px.py', {}),
    'cosine + AAM + recipe, no SAM/EMA': (
        'lite0_cosine-aam-recipe_1xb16_coco128-224px.py', {**NO_SAM, **NO_EMA}),
    'ML-Decoder + ASL + recipe': ('lite0_mld-asl-recipe_1xb16_coco128-224px.py', {}),
    'ML-Decoder + ASL + recipe, no SAM/EMA': (
        'lite0_mld-asl-recipe_1xb16_coco128-224px.py', {**NO_SAM, **NO_EMA}),
    'ML-Decoder + AAM + recipe': ('lite0_mld-aam-recipe_1xb16_coco128-224px.py', {}),
    'ML-Decoder + AAM + recipe, no SAM/EMA': (
        'lite0_mld-aam-recipe_1xb16_coco128-224px.py', {**NO_SAM, **NO_EMA}),
    'GAT + ML-Decoder + AAM + recipe': ('lite0_gat-mld-aam-recipe_1xb16_coco128-224px.py', {}),
    'GAT + ML-Decoder + AAM + recipe, no SAM/EMA': (
        'lite0_gat-mld-aam-recipe_1xb16_coco128-224px.py', {**NO_SAM, **NO_EMA}),
}


def fold_config(config: str, overrides: dict, data_root: str, train: Sequence[int],
                val: Sequence[int], epochs: int, seed: int, work_dir: str) -> Config:
    """``config`` trained on ``train``, evaluated once on ``val`` after ``epochs``."""
    cfg = Config.fromfile(config)
    overrides = dict(overrides)
    drop = overrides.pop('drop_hooks', [])
    cfg.merge_from_dict(overrides)
    cfg.custom_hooks = [h for h in cfg.get('custom_hooks', []) if h['type'] not in drop
                        and h['type'] != 'SmoothedEarlyStoppingHook']  # no pick on the fold
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = epochs + 1  # evaluated once, after training
    for scheduler in cfg.param_scheduler if isinstance(cfg.param_scheduler, list) \
            else [cfg.param_scheduler]:
        if 'total_steps' in scheduler:  # OneCycle: its length is fixed when built
            scheduler.total_steps = epochs
    for loader, indices in (('train_dataloader', train), ('val_dataloader', val)):
        cfg[loader].dataset.data_root = data_root
        cfg[loader].dataset.indices = list(map(int, indices))
    cfg.test_dataloader = cfg.val_dataloader
    graph = cfg.model.get('neck', None) or {}
    if isinstance(graph.get('graph'), dict) and 'dataset' in graph['graph']:
        graph['graph']['dataset'] = copy.deepcopy(cfg.train_dataloader.dataset)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1, save_last=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1000)
    cfg.log_level = 'WARNING'
    return cfg


def train_and_evaluate(cfg: Config) -> Dict[str, float]:
    """Train ``cfg`` and return the final validation metrics (EMA and raw)."""
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.val_loop.run()
    for handler in MMLogger.get_current_instance().handlers:
        handler.close()
    return metrics


def final_map(metrics: Dict[str, float]) -> float:
    """mAP of the model training ends with: the EMA model where there is one
    (``multi-label/mAP``; the raw one is then ``multi-label/mAP_origin``)."""
    return float(metrics['multi-label/mAP'])


def present_positive_rates(data_root: str, indices: Sequence[int]) -> np.ndarray:
    """``[n, 80]`` one-hot labels of the coco128 images at ``indices``."""
    ds = CocoMultiLabel(ann_file=ANN, data_root=data_root, indices=list(indices),
                        lazy_init=False)
    labels = np.zeros((len(ds), 80))
    for i in range(len(ds)):
        labels[i, ds.get_data_info(i)['gt_label']] = 1
    return labels


def run(rows: Sequence[str], folds: int, epochs: int, seeds: Sequence[int], data_root: str,
        work_dir: str, only_folds: Optional[Sequence[int]] = None,
        overrides: Optional[dict] = None, log=print) -> List[dict]:
    """Train every row on every fold and seed; returns one record per run."""
    num = len(CocoMultiLabel(ann_file=ANN, data_root=data_root))
    splits = kfold_indices(num, folds, seed=0)
    records = []
    for name in rows:
        config, row_overrides = ROWS[name]
        for seed in seeds:
            for k, (train, val) in enumerate(splits):
                if only_folds is not None and k not in only_folds:
                    continue
                start = time.perf_counter()
                cfg = fold_config(osp.join(CONFIGS, config), {**row_overrides, **(overrides or {})}, data_root, train, val,
                                  epochs, seed, osp.join(work_dir, f'{len(records)}'))
                metrics = train_and_evaluate(cfg)
                record = dict(row=name, fold=k, seed=seed, mAP=final_map(metrics),
                              raw=float(metrics.get('multi-label/mAP_origin', np.nan)),
                              chance=chance_map(present_positive_rates(data_root, val)),
                              wall_s=time.perf_counter() - start)
                records.append(record)
                log(f"{name} | fold {k} seed {seed}: mAP {record['mAP']:.2f} "
                    f"(raw {record['raw']:.2f}, chance {record['chance']:.2f}) "
                    f"in {record['wall_s']:.0f} s")
    return records


def table(records: List[dict], rows: Sequence[str]) -> str:
    """Markdown table: mean +- std over folds x seeds, per row."""
    lines = ['| row | mAP (final model) | raw model | chance | per fold | wall / run (s) |',
             '|---|---|---|---|---|---|']
    for name in rows:
        mine = [r for r in records if r['row'] == name]
        if not mine:
            continue
        maps = np.array([r['mAP'] for r in mine])
        raws = np.array([r['raw'] for r in mine])
        raw = '-' if np.isnan(raws).all() else f'{raws.mean():.2f} ± {raws.std(ddof=1):.2f}'
        lines.append(
            f'| {name} | **{maps.mean():.2f} ± {maps.std(ddof=1):.2f}** | {raw} | '
            f"{np.mean([r['chance'] for r in mine]):.2f} | "
            f"{' / '.join(f'{m:.1f}' for m in maps)} | "
            f"{np.mean([r['wall_s'] for r in mine]):.0f} |")
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> List[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rows', nargs='+', default=list(ROWS), choices=list(ROWS),
                        metavar='ROW', help='rows to run (default: all)')
    parser.add_argument('--folds', type=int, default=3)
    parser.add_argument('--epochs', type=int, default=12)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--only-folds', type=int, nargs='+', help='run these folds only')
    parser.add_argument('--data-root', default=osp.join(ROOT, '..', 'shared', 'data', 'coco128'))
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='overrides applied to every row')
    parser.add_argument('--threads', type=int, default=None, help='torch threads')
    parser.add_argument('--work-dir', default=None, help='default: a temporary folder')
    args = parser.parse_args(argv)
    if not osp.isdir(args.data_root):
        parser.error(f'coco128 not found at {osp.abspath(args.data_root)} (--data-root)')
    if args.threads:
        torch.set_num_threads(args.threads)
    logging.getLogger('mmengine').setLevel(logging.WARNING)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        records = run(args.rows, args.folds, args.epochs, args.seeds,
                      osp.abspath(args.data_root), args.work_dir or tmp, args.only_folds,
                      args.cfg_options)
    print(f'\ncoco128, {args.folds}-fold CV over {len(records) and records[0] and 126} '
          f'annotated photos, 224 px, {args.epochs} epochs, seeds {args.seeds}, '
          f'torch {torch.__version__}, {os.cpu_count()} CPU(s); '
          f'total wall {(time.perf_counter() - start) / 60:.1f} min\n')
    print(table(records, args.rows))
    return records


if __name__ == '__main__':
    main()
