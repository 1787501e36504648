"""k-fold cross-validation of the coco128 recipes on real COCO photos.

Usage::

    python benchmarks/coco128_cv.py [--rows ROW ...] [--folds 3] [--epochs 12]
        [--seeds 0] [--jobs 2] [--data-root data/coco128] [--out runs.jsonl]
    python benchmarks/coco128_cv.py --table-from runs.jsonl [more.jsonl ...]

Every row trains one shipped config of ``configs/coco128/`` (optionally with
SAM and EMA switched off) on ``k - 1`` folds of the 126 annotated coco128
photos and evaluates on the remaining fold, for every fold, under the same
epoch budget; nothing is selected on the held-out fold (no early stopping, no
best-epoch pick: the model evaluated is the one training ends with, the EMA
weights when the row keeps an EMA, as its checkpoint would hold). mAP averages
over the classes present in the held-out fold; its chance level (a random
ranking: each class's positive rate) is printed beside it. The "no training"
rows evaluate the model as its training would start (the classifier transferred
from ImageNet's, ``ClassifierTransferHook``). The table gives the
mean and the spread (sample standard deviation) over folds x seeds.
"""
import argparse
import json
import logging
import multiprocessing
import os
import os.path as osp
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS

import mmpretrain_multilabel  # noqa: F401  registers the components
from mmpretrain_multilabel.apis.short_run import (
    dataset_map,
    short_run_config,
    start_model,
    train_and_evaluate,
)
from mmpretrain_multilabel.datasets import CocoMultiLabel, dataset_label_matrix, kfold_indices
from mmpretrain_multilabel.evaluation import chance_map

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(HERE)
CONFIGS = osp.join(ROOT, 'configs', 'coco128')
ANN = 'annotations/instances_train2017.json'
NO_SAM = {'optim_wrapper.type': 'OptimWrapper'}
#: The paper's recipe as first shipped: MMPretrain's per-sample mean of the loss (the head's
#: loss without its BatchSumLoss wrapper) and the paper's EMA decay from the first iteration
#: (no warm-up).
AS_FIRST_SHIPPED = {
    'mean_loss': True,
    'custom_hooks.0.gamma': 1e-9}  # max(3e-4, gamma / (gamma + t)) = 3e-4 from t = 1
NO_EMA = {'drop_hooks': ['EMAHook']}

STOCK = 'lite0_linear-asl_1xb16_coco128-224px.py'
#: MMEngine matches custom_keys as substrings, longest key first: 'backbone' keeps the
#: backbone's `conv_head` out of the head's multiplier.
HEAD_ONLY_X10 = {'backbone': {'lr_mult': 1.}, 'head': {'lr_mult': 10.}}
#: every key of the stock row's AdamW replaced, so the optimizer is plain SGD
SGD = {'optim_wrapper.optimizer': {'type': 'SGD', 'momentum': 0.9, 'weight_decay': 1e-4}}

#: row name -> (config in configs/coco128/, overrides). The stock rows search MMPretrain's
#: simple optimizer settings (cosine decay, same budget) for the fairest baseline.
ROWS: Dict[str, tuple] = {
    'stock: linear + ASL, AdamW 1e-3': (STOCK, {}),
    'stock: linear + ASL, AdamW 3e-4': (STOCK, {'optim_wrapper.optimizer.lr': 3e-4}),
    'stock: linear + ASL, AdamW 3e-3': (STOCK, {'optim_wrapper.optimizer.lr': 3e-3}),
    'stock: linear + ASL, SGD 0.01, head x10': (
        STOCK, {**SGD, 'optim_wrapper.optimizer.lr': 0.01,
                'optim_wrapper.paramwise_cfg': {'custom_keys': HEAD_ONLY_X10}}),
    'transferred linear classifier, no training': (
        'lite0_linear-asl-transfer_1xb16_coco128-224px.py', {'train': False}),
    'transferred cosine classifier, no training': (
        'lite0_cosine-aam-transfer-recipe_1xb16_coco128-224px.py', {'train': False}),
    'stock + transfer: linear + ASL, AdamW 1e-3': (
        'lite0_linear-asl-transfer_1xb16_coco128-224px.py', {}),
    'cosine + AAM + recipe + transfer': (
        'lite0_cosine-aam-transfer-recipe_1xb16_coco128-224px.py', {}),
    'cosine + AAM + recipe + transfer, no SAM/EMA': (
        'lite0_cosine-aam-transfer-recipe_1xb16_coco128-224px.py', {**NO_SAM, **NO_EMA}),
    'linear + ASL + recipe': ('lite0_linear-asl-recipe_1xb16_coco128-224px.py', {}),
    'linear + ASL + recipe, no SAM/EMA': (
        'lite0_linear-asl-recipe_1xb16_coco128-224px.py', {**NO_SAM, **NO_EMA}),
    'cosine + AAM + recipe': ('lite0_cosine-aam-recipe_1xb16_coco128-224px.py', {}),
    'cosine + AAM + recipe, no SAM/EMA': (
        'lite0_cosine-aam-recipe_1xb16_coco128-224px.py', {**NO_SAM, **NO_EMA}),
    'ML-Decoder + ASL + recipe': ('lite0_mld-asl-recipe_1xb16_coco128-224px.py', {}),
    'ML-Decoder + ASL + recipe, no SAM/EMA': (
        'lite0_mld-asl-recipe_1xb16_coco128-224px.py', {**NO_SAM, **NO_EMA}),
    'ML-Decoder + AAM + recipe as first shipped': (
        'lite0_mld-aam-recipe_1xb16_coco128-224px.py', AS_FIRST_SHIPPED),
    'ML-Decoder + AAM + recipe': ('lite0_mld-aam-recipe_1xb16_coco128-224px.py', {}),
    'ML-Decoder + AAM + recipe, no SAM/EMA': (
        'lite0_mld-aam-recipe_1xb16_coco128-224px.py', {**NO_SAM, **NO_EMA}),
    'GAT + ML-Decoder + AAM + recipe': ('lite0_gat-mld-aam-recipe_1xb16_coco128-224px.py', {}),
    'transferred ML-Decoder, no training': (
        'lite0_mld-aam-transfer-recipe_1xb16_coco128-224px.py', {'train': False}),
    'ML-Decoder + AAM + recipe + transfer': (
        'lite0_mld-aam-transfer-recipe_1xb16_coco128-224px.py', {}),
    'transferred GAT + ML-Decoder, no training': (
        'lite0_gat-mld-aam-transfer-recipe_1xb16_coco128-224px.py', {'train': False}),
    'GAT + ML-Decoder + AAM + recipe + transfer': (
        'lite0_gat-mld-aam-transfer-recipe_1xb16_coco128-224px.py', {}),
    'GAT + ML-Decoder + AAM + recipe, no SAM/EMA': (
        'lite0_gat-mld-aam-recipe_1xb16_coco128-224px.py', {**NO_SAM, **NO_EMA}),
}


def fold_config(config: str, overrides: dict, data_root: str, train: Sequence[int],
                val: Sequence[int], epochs: int, seed: int, work_dir: str) -> Config:
    """``config`` trained on ``train``, evaluated once on ``val`` after ``epochs``
    (:func:`~mmpretrain_multilabel.apis.short_run.short_run_config`)."""
    cfg = Config.fromfile(config)
    overrides = dict(overrides)
    overrides.pop('train', None)
    drop = overrides.pop('drop_hooks', [])
    if overrides.pop('mean_loss', False):  # unwrap BatchSumLoss: the per-sample mean
        cfg.model.head.loss = cfg.model.head.loss.loss
    cfg.merge_from_dict(overrides)
    if cfg.optim_wrapper.get('type') == 'OptimWrapper':  # SAM off: drop its arguments
        for key in ('rho', 'adaptive', 'sync_perturbation'):
            cfg.optim_wrapper.pop(key, None)
    return short_run_config(cfg, epochs, work_dir, data_root, train, val, seed, drop)


def final_map(metrics: Dict[str, float]) -> float:
    """mAP of the model training ends with: the EMA model where there is one
    (``multi-label/mAP``; the raw one is then ``multi-label/mAP_origin``)."""
    return float(metrics['multi-label/mAP'])


def fold_labels(data_root: str, indices: Sequence[int]) -> np.ndarray:
    """``[n, 80]`` labels of the coco128 images at ``indices``."""
    return dataset_label_matrix(
        CocoMultiLabel(ann_file=ANN, data_root=data_root, indices=list(indices)))


def run_one(task: dict) -> dict:
    """Train and evaluate one (row, seed, fold); returns its record."""
    if task.get('threads'):
        torch.set_num_threads(task['threads'])
    logging.getLogger('mmengine').setLevel(logging.WARNING)
    start = time.perf_counter()
    cfg = fold_config(osp.join(CONFIGS, task['config']), task['overrides'], task['data_root'],
                      task['train'], task['val'], task['epochs'], task['seed'], task['work_dir'])
    if task['overrides'].get('train', True):
        metrics = train_and_evaluate(cfg)
    else:  # the model as training would start, evaluated as the trained ones are
        init_default_scope('mmpretrain')
        dataset = DATASETS.build(cfg.val_dataloader.dataset)
        model = start_model(cfg, dataset.metainfo['classes'])
        metrics = {'multi-label/mAP': dataset_map(model, dataset)}
    return dict(row=task['row'], fold=task['fold'], seed=task['seed'],
                mAP=final_map(metrics),
                raw=float(metrics.get('multi-label/mAP_origin', np.nan)),
                chance=chance_map(fold_labels(task['data_root'], task['val'])),
                wall_s=time.perf_counter() - start)


def run(rows: Sequence[str], folds: int, epochs: int, seeds: Sequence[int], data_root: str,
        work_dir: str, only_folds: Optional[Sequence[int]] = None,
        overrides: Optional[dict] = None, jobs: int = 1, out: Optional[str] = None,
        log=print) -> List[dict]:
    """Train every row on every fold and seed (``jobs`` runs at a time, one
    thread each when ``jobs > 1``); returns one record per run, also appended
    to the JSON-lines file ``out`` as it comes."""
    num = len(CocoMultiLabel(ann_file=ANN, data_root=data_root))
    tasks = [dict(row=name, config=ROWS[name][0], overrides={**ROWS[name][1], **(overrides or {})},
                  seed=seed, fold=k, train=train, val=val, epochs=epochs, data_root=data_root,
                  threads=1 if jobs > 1 else None)
             for name in rows for seed in seeds
             for k, (train, val) in enumerate(kfold_indices(num, folds, seed=0))
             if only_folds is None or k in only_folds]
    for i, task in enumerate(tasks):
        task['work_dir'] = osp.join(work_dir, str(i))
    if jobs > 1:
        pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context('spawn'))
        results = pool.map(run_one, tasks)
    else:
        pool, results = None, map(run_one, tasks)
    records = []
    for record in results:
        records.append(record)
        if out:
            with open(out, 'a') as f:
                f.write(json.dumps(record) + '\n')
        log(f"{record['row']} | fold {record['fold']} seed {record['seed']}: "
            f"mAP {record['mAP']:.2f} (raw {record['raw']:.2f}, chance {record['chance']:.2f}) "
            f"in {record['wall_s']:.0f} s")
    if pool is not None:
        pool.shutdown()
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
    parser.add_argument('--data-root', default=osp.join(ROOT, 'data', 'coco128'))
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='overrides applied to every row')
    parser.add_argument('--threads', type=int, default=None, help='torch threads')
    parser.add_argument('--jobs', type=int, default=1,
                        help='runs at a time, one thread each (2 on a 2-core machine)')
    parser.add_argument('--work-dir', default=None, help='default: a temporary folder')
    parser.add_argument('--out', help='also write the runs as JSON lines to this file')
    parser.add_argument('--table-from', nargs='+', metavar='JSONL',
                        help='print the table of runs written by --out, without training')
    args = parser.parse_args(argv)
    if args.table_from:
        records = [json.loads(line) for path in args.table_from for line in open(path)]
        print(table(records, [r for r in ROWS if any(x['row'] == r for x in records)]))
        return records
    if not osp.isdir(args.data_root):
        parser.error(f'coco128 not found at {osp.abspath(args.data_root)} (--data-root)')
    if args.threads:
        torch.set_num_threads(args.threads)
    logging.getLogger('mmengine').setLevel(logging.WARNING)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        records = run(args.rows, args.folds, args.epochs, args.seeds,
                      osp.abspath(args.data_root), args.work_dir or tmp, args.only_folds,
                      args.cfg_options, args.jobs, args.out)
    print(f'\ncoco128, {args.folds}-fold CV over the annotated photos, 224 px, '
          f'{args.epochs} epochs, seeds {args.seeds}, '
          f'torch {torch.__version__}, {os.cpu_count()} CPU(s), {args.jobs} run(s) at a time; '
          f'total wall {(time.perf_counter() - start) / 60:.1f} min\n')
    print(table(records, args.rows))
    return records


if __name__ == '__main__':
    main()
