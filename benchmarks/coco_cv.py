"""k-fold cross-validation of the real-photo recipes on COCO photos.

Usage::

    python benchmarks/coco_cv.py [--rows ROW ...] [--folds 3] [--epochs 12]
        [--seeds 0] [--jobs 2] [--data-root data/coco319] [--train-sizes N ...]
        [--out runs.jsonl]
    python benchmarks/coco_cv.py --table-from runs.jsonl [more.jsonl ...]

Every row trains one shipped config of ``configs/coco319/`` (optionally with
SAM and EMA switched off) on ``k - 1`` folds of the 315 annotated coco319
photos (or the 126 of coco128, ``--data-root data/coco128``), or on a nested
subset of them (``--train-sizes``), and evaluates on the remaining fold, for
every fold, under the same epoch budget; nothing is selected on the held-out
fold (no early stopping, no best-epoch pick: the model evaluated is the one
training ends with, the EMA weights when the row keeps an EMA, as its
checkpoint would hold). mAP averages
over the classes present in the held-out fold; its chance level (a random
ranking: each class's positive rate) is printed beside it. The "no training"
rows evaluate the model as its training would start (the classifier transferred
from ImageNet's, ``ClassifierTransferHook``, alone or fitted to the fold's
training labels: "+ probe", as the ``*-transfer-*`` configs do). The table gives the
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
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS

import mmpretrain_multilabel  # noqa: F401  registers the components
from mmpretrain_multilabel.apis.short_run import (
    ValCurveHook,
    dataset_map,
    short_run_config,
    start_model,
    train_and_evaluate,
)
from mmpretrain_multilabel.datasets import CocoMultiLabel, dataset_label_matrix, kfold_indices
from mmpretrain_multilabel.evaluation import chance_map

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(HERE)
CONFIGS = osp.join(ROOT, 'configs', 'coco319')
ANN = 'annotations/instances_train2017.json'
NO_SAM = {'optim_wrapper.type': 'OptimWrapper'}
#: The paper's recipe as first shipped: MMPretrain's per-sample mean of the loss (the head's
#: loss without its BatchSumLoss wrapper) and the paper's EMA decay from the first iteration
#: (no warm-up).
AS_FIRST_SHIPPED = {
    'mean_loss': True,
    'custom_hooks.0.gamma': 1e-9}  # max(3e-4, gamma / (gamma + t)) = 3e-4 from t = 1
NO_EMA = {'drop_hooks': ['EMAHook']}
#: the transferred classifier then fitted to the training labels (a closed-form linear probe,
#: as the `*-transfer-*` configs do), or the transferred classifier alone
PROBE = {'linear_probe': True}
NO_PROBE = {'linear_probe': False}

STOCK = 'lite0_linear-asl_1xb16_coco319-224px.py'
#: MMEngine matches custom_keys as substrings, longest key first: 'backbone' keeps the
#: backbone's `conv_head` out of the head's multiplier.
HEAD_ONLY_X10 = {'backbone': {'lr_mult': 1.}, 'head': {'lr_mult': 10.}}
#: every key of the stock row's AdamW replaced, so the optimizer is plain SGD
SGD = {'optim_wrapper.optimizer': {'type': 'SGD', 'momentum': 0.9, 'weight_decay': 1e-4}}

#: row name -> (config in configs/coco319/, overrides). The stock rows search MMPretrain's
#: simple optimizer settings (cosine decay, same budget) for the fairest baseline.
ROWS: Dict[str, tuple] = {
    'stock: linear + ASL, AdamW 1e-3': (STOCK, {}),
    'stock: linear + ASL, AdamW 3e-4': (STOCK, {'optim_wrapper.optimizer.lr': 3e-4}),
    'stock: linear + ASL, AdamW 3e-3': (STOCK, {'optim_wrapper.optimizer.lr': 3e-3}),
    'stock: linear + ASL, SGD 0.01, head x10': (
        STOCK, {**SGD, 'optim_wrapper.optimizer.lr': 0.01,
                'optim_wrapper.paramwise_cfg': {'custom_keys': HEAD_ONLY_X10}}),
    'stock + transfer: linear + ASL, AdamW 1e-3': (
        'lite0_linear-asl-transfer_1xb16_coco319-224px.py', NO_PROBE),
    'cosine + AAM + recipe + transfer': (
        'lite0_cosine-aam-transfer-recipe_1xb16_coco319-224px.py', NO_PROBE),
    'cosine + AAM + recipe + transfer + probe': (
        'lite0_cosine-aam-transfer-recipe_1xb16_coco319-224px.py', PROBE),
    # the same weights as the row above's --interpolate 0.5 (WiSEFTHook; test_coco_cv.py)
    'cosine + AAM + recipe + transfer + probe, WiSE-FT config': (
        'lite0_cosine-aam-transfer-recipe-wiseft_1xb16_coco319-224px.py', {}),
    'stock + transfer + probe: linear + ASL, AdamW 1e-3': (
        'lite0_linear-asl-transfer_1xb16_coco319-224px.py', PROBE),
    'ML-Decoder + AAM + recipe + transfer + probe': (
        'lite0_mld-aam-transfer-recipe_1xb16_coco319-224px.py', PROBE),
    'GAT + ML-Decoder + AAM + recipe + transfer + probe': (
        'lite0_gat-mld-aam-transfer-recipe_1xb16_coco319-224px.py', PROBE),
    'ML-GCN + AAM + recipe + transfer + probe': (
        'lite0_mlgcn-aam-transfer-recipe_1xb16_coco319-224px.py', PROBE),
    # the graph layers' step scaled by ~1 / sigma_max(A H)^2 (1 / 126 on coco319's graph): the
    # classifiers A H W2 move by lr (A H)(A H)^T G per step on W2 (docs/results.md)
    'ML-GCN + AAM + recipe + transfer + probe, graph layers lr x0.01': (
        'lite0_mlgcn-aam-transfer-recipe_1xb16_coco319-224px.py',
        {**PROBE, 'optim_wrapper.paramwise_cfg.custom_keys': {'head.layers': {'lr_mult': .01}}}),
    # which part's training takes the start down: the backbone under the fitted graph
    # classifiers, or the graph layers on a frozen backbone (docs/results.md, --val-every)
    'ML-GCN + AAM + recipe + transfer + probe, graph layers frozen': (
        'lite0_mlgcn-aam-transfer-recipe_1xb16_coco319-224px.py',
        {**PROBE, 'optim_wrapper.paramwise_cfg.custom_keys': {
            'head.layers': {'lr_mult': 0., 'decay_mult': 0.}}}),
    'ML-GCN + AAM + recipe + transfer + probe, backbone frozen, graph layers lr x0.01': (
        'lite0_mlgcn-aam-transfer-recipe_1xb16_coco319-224px.py',
        {**PROBE, 'optim_wrapper.paramwise_cfg.custom_keys': {
            'head.layers': {'lr_mult': .01}, 'backbone': {'lr_mult': 0., 'decay_mult': 0.}}}),
    'Query2Label + AAM + recipe + transfer + probe': (
        'lite0_q2l-aam-transfer-recipe_1xb16_coco319-224px.py', PROBE),
    # the paper's setting for these peer heads: ASL, SAM over Adam 1e-4 (its Tables 2-5, 8)
    'ML-GCN + ASL + recipe + transfer + probe': (
        'lite0_mlgcn-asl-transfer-recipe_1xb16_coco319-224px.py', PROBE),
    'Query2Label + ASL + recipe + transfer + probe': (
        'lite0_q2l-asl-transfer-recipe_1xb16_coco319-224px.py', PROBE),
    'linear + ASL + recipe + transfer + probe': (
        'lite0_linear-asl-recipe_1xb16_coco319-224px.py', PROBE),
    'ML-Decoder + ASL + recipe + transfer + probe': (
        'lite0_mld-asl-recipe_1xb16_coco319-224px.py', PROBE),
    'cosine + AAM + recipe + transfer, no SAM/EMA': (
        'lite0_cosine-aam-transfer-recipe_1xb16_coco319-224px.py',
        {**NO_SAM, **NO_EMA, **NO_PROBE}),
    'linear + ASL + recipe': ('lite0_linear-asl-recipe_1xb16_coco319-224px.py', {}),
    'linear + ASL + recipe, no SAM/EMA': (
        'lite0_linear-asl-recipe_1xb16_coco319-224px.py', {**NO_SAM, **NO_EMA}),
    'cosine + AAM + recipe': ('lite0_cosine-aam-recipe_1xb16_coco319-224px.py', {}),
    'cosine + AAM + recipe, no SAM/EMA': (
        'lite0_cosine-aam-recipe_1xb16_coco319-224px.py', {**NO_SAM, **NO_EMA}),
    'ML-Decoder + ASL + recipe': ('lite0_mld-asl-recipe_1xb16_coco319-224px.py', {}),
    'ML-Decoder + ASL + recipe, no SAM/EMA': (
        'lite0_mld-asl-recipe_1xb16_coco319-224px.py', {**NO_SAM, **NO_EMA}),
    # Alibaba-MIIL/ML_Decoder train.py with Lite0 in place of TResNet: the plain head, ASL
    # (4, 0, 0.05) summed over the batch, Adam 1e-4 with L2 1e-4 off biases and norms,
    # OneCycle (pct_start 0.2, div_factor 25, final_div_factor 1e4), EMA 0.9997 from the
    # first step. Not replicated: its Adam beta1 cycling, AMP, its Cutout 0.5 without flip
    # (the project's pipeline is kept, so the rows differ in the loop only).
    "ML-Decoder authors' loop": ('lite0_mld-asl-recipe_1xb16_coco319-224px.py', {
        **NO_SAM, 'param_scheduler.div_factor': 25., 'param_scheduler.final_div_factor': 1e4,
        'custom_hooks.0.gamma': 1e-9}),
    'ML-Decoder + AAM + recipe as first shipped': (
        'lite0_mld-aam-recipe_1xb16_coco319-224px.py', AS_FIRST_SHIPPED),
    'ML-Decoder + AAM + recipe': ('lite0_mld-aam-recipe_1xb16_coco319-224px.py', {}),
    'ML-Decoder + AAM + recipe, no SAM/EMA': (
        'lite0_mld-aam-recipe_1xb16_coco319-224px.py', {**NO_SAM, **NO_EMA}),
    'GAT + ML-Decoder + AAM + recipe': ('lite0_gat-mld-aam-recipe_1xb16_coco319-224px.py', {}),
    'ML-Decoder + AAM + recipe + transfer': (
        'lite0_mld-aam-transfer-recipe_1xb16_coco319-224px.py', NO_PROBE),
    'ML-Decoder + AAM + recipe + transfer, SAM over Adam 1e-4': (
        'lite0_mld-aam-transfer-adam_1xb16_coco319-224px.py', NO_PROBE),
    'GAT + ML-Decoder + AAM + recipe + transfer': (
        'lite0_gat-mld-aam-transfer-recipe_1xb16_coco319-224px.py', NO_PROBE),
    'GAT + ML-Decoder + AAM + recipe, no SAM/EMA': (
        'lite0_gat-mld-aam-recipe_1xb16_coco319-224px.py', {**NO_SAM, **NO_EMA}),
}
#: The "no training" rows: each head's start, transferred alone or then fitted to the labels.
STARTS = {
    'linear classifier': 'lite0_linear-asl-transfer_1xb16_coco319-224px.py',
    'cosine classifier': 'lite0_cosine-aam-transfer-recipe_1xb16_coco319-224px.py',
    'ML-Decoder': 'lite0_mld-aam-transfer-recipe_1xb16_coco319-224px.py',
    'GAT + ML-Decoder': 'lite0_gat-mld-aam-transfer-recipe_1xb16_coco319-224px.py',
    'ML-GCN': 'lite0_mlgcn-aam-transfer-recipe_1xb16_coco319-224px.py',
    'Query2Label': 'lite0_q2l-aam-transfer-recipe_1xb16_coco319-224px.py',
}
ROWS.update({f'transferred {head}{" + probe" if probe else ""}, no training':
             (config, {'train': False, 'linear_probe': probe})
             for head, config in STARTS.items() for probe in (False, True)})


def fold_config(config: str, overrides: dict, data_root: str, train: Sequence[int],
                val: Sequence[int], epochs: int, seed: int, work_dir: str) -> Config:
    """``config`` trained on ``train``, evaluated once on ``val`` after ``epochs``
    (:func:`~mmpretrain_multilabel.apis.short_run.short_run_config`)."""
    cfg = Config.fromfile(config)
    overrides = dict(overrides)
    overrides.pop('train', None)
    drop = overrides.pop('drop_hooks', [])
    probe = overrides.pop('linear_probe', None)
    if probe is not None:  # the transferred start fitted to the labels, or not
        hooks = [h for h in cfg.custom_hooks if h['type'] == 'ClassifierTransferHook']
        if not hooks and probe:
            cfg.custom_hooks.append(dict(type='ClassifierTransferHook'))
            hooks = cfg.custom_hooks[-1:]
        for hook in hooks:
            hook['linear_probe'] = probe
    if overrides.pop('mean_loss', False):  # unwrap BatchSumLoss: the per-sample mean
        cfg.model.head.loss = cfg.model.head.loss.loss
    cfg.merge_from_dict(overrides)
    if cfg.optim_wrapper.get('type') == 'OptimWrapper':  # SAM off: drop its arguments
        for key in ('rho', 'adaptive', 'sync_perturbation'):
            cfg.optim_wrapper.pop(key, None)
    return short_run_config(cfg, epochs, work_dir, data_root, train, val, seed, drop)


def train_subset(train: Sequence[int], size: Optional[int], fold: int) -> List[int]:
    """The first ``size`` training photos of the fold in a fixed shuffled order
    (seeded by the fold), sorted; ``None`` keeps all. Smaller sizes are nested
    in larger ones, so a data curve adds photos to the same ones."""
    if size is None:
        return list(train)
    if not 0 < size <= len(train):
        raise ValueError(f'train size {size} must be in [1, {len(train)}] (the fold has '
                         f'{len(train)} training photos)')
    order = np.random.default_rng(1000 + fold).permutation(len(train))
    return sorted(int(train[i]) for i in order[:size])


def final_map(metrics: Dict[str, float], prefix: str = '') -> float:
    """mAP of the model training ends with: the EMA model where there is one
    (``multi-label/mAP``; the raw one is then ``multi-label/mAP_origin``)."""
    return float(metrics[prefix + 'multi-label/mAP'])


def interpolated_records(records: List[dict]) -> List[dict]:
    """One record per interpolation a run recorded (``--interpolate``), as
    the row ``<row> + WiSE-FT <alpha>`` (its mAP that of the interpolated
    weights; no raw model)."""
    return [dict(r, row=f"{r['row']} + WiSE-FT {alpha}", mAP=value, raw=np.nan)
            for r in records for alpha, value in r.get('interpolated', {}).items()]


def fold_labels(data_root: str, indices: Sequence[int]) -> np.ndarray:
    """``[n, 80]`` labels of the images at ``indices``."""
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
    epochs = task['epochs'] if task['overrides'].get('train', True) else 0
    alphas = task.get('interpolations') or ()
    curve = ValCurveHook() if task.get('val_every') else None
    if curve is not None:
        cfg.train_cfg.val_interval = task['val_every']
    if epochs:
        metrics = train_and_evaluate(cfg, alphas, curve)
    else:  # the model as training would start, evaluated as the trained ones are
        init_default_scope('mmpretrain')
        dataset = DATASETS.build(cfg.val_dataloader.dataset)
        model = start_model(cfg, dataset.metainfo['classes'])
        metrics = {'multi-label/mAP': dataset_map(model, dataset)}
    return dict(row=task['row'], fold=task['fold'], seed=task['seed'],
                n_train=len(task['train']), epochs=epochs,
                iters=epochs * -(-len(task['train']) // cfg.train_dataloader.batch_size),
                mAP=final_map(metrics),
                raw=float(metrics.get('multi-label/mAP_origin', np.nan)),
                chance=chance_map(fold_labels(task['data_root'], task['val'])),
                wall_s=time.perf_counter() - start,
                **({'interpolated': {f'{a:g}': final_map(metrics, f'interpolated_{a:g}/')
                                     for a in alphas}} if epochs and alphas else {}),
                **({'curve': [[epoch, final_map(m), m.get('multi-label/mAP_origin', np.nan)]
                              for epoch, m in curve.points]} if curve and epochs else {}))


def run(rows: Sequence[str], folds: int, epochs: Union[int, Sequence[int]],
        seeds: Sequence[int], data_root: str, work_dir: str,
        only_folds: Optional[Sequence[int]] = None, overrides: Optional[dict] = None,
        jobs: int = 1, out: Optional[str] = None,
        train_sizes: Sequence[Optional[int]] = (None,), log=print,
        interpolations: Sequence[float] = (), val_every: Optional[int] = None) -> List[dict]:
    """Train every row on every fold and seed, for each epoch budget and
    training-set size (``jobs`` runs at a time, one thread each when
    ``jobs > 1``); returns one record per run, also appended to the
    JSON-lines file ``out`` as it comes. ``interpolations``: also evaluate
    the start and the final weights averaged with these weights on the final
    ones (WiSE-FT; :func:`train_and_evaluate`). ``val_every``: also evaluate
    every that many epochs, kept as the record's ``curve``: ``[epoch, mAP,
    raw model's mAP]`` (a diagnostic: the held-out fold is only looked at)."""
    num = len(CocoMultiLabel(ann_file=ANN, data_root=data_root))
    budgets = [epochs] if isinstance(epochs, int) else list(epochs)
    tasks = [dict(row=name, config=ROWS[name][0], overrides={**ROWS[name][1], **(overrides or {})},
                  seed=seed, fold=k, train=train_subset(train, size, k), val=val, epochs=budget,
                  data_root=data_root, threads=1 if jobs > 1 else None,
                  interpolations=list(interpolations), val_every=val_every)
             for name in rows for size in train_sizes for budget in budgets for seed in seeds
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
            f"in {record['wall_s']:.0f} s"
            + ''.join(f'; WiSE-FT {a}: {m:.2f}' for a, m in record.get('interpolated', {}).items())
            + ''.join(f'; epoch {e}: {m:.2f} (raw {r:.2f})' for e, m, r in record.get('curve', [])))
    if pool is not None:
        pool.shutdown()
    return records


def setting(record: dict) -> tuple:
    """``(photos, epochs, iterations)`` of a run (0 where an old record has none)."""
    return record.get('n_train', 0), record.get('epochs', 0), record.get('iters', 0)


def groups(records: List[dict], rows: Sequence[str]) -> List[tuple]:
    """``(row, photos, epochs, iterations, runs)`` per row, training-set size
    and budget, in row order."""
    out = []
    for name in rows:
        mine = [r for r in records if r['row'] == name]
        for key in sorted({setting(r) for r in mine}):
            out.append((name, *key, [r for r in mine if setting(r) == key]))
    return out


def mean_std(values) -> str:
    """``mean ± sample std`` (the std is ``-`` for a single value)."""
    values = np.asarray(values, float)
    std = f'{values.std(ddof=1):.2f}' if len(values) > 1 else '-'
    return f'{values.mean():.2f} ± {std}'


def table(records: List[dict], rows: Sequence[str]) -> str:
    """Markdown table: mean +- std over folds x seeds, per row, training-set
    size and budget."""
    lines = ['| row | photos | epochs (iters) | mAP (final model) | raw model | chance | '
             'runs | per run | wall / run (s) |', '|---|---|---|---|---|---|---|---|---|']
    for name, n, epochs, iters, mine in groups(records, rows):
        maps = [r['mAP'] for r in mine]
        raws = np.array([r['raw'] for r in mine])
        raw = '-' if np.isnan(raws).all() else mean_std(raws)
        lines.append(
            f'| {name} | {n or "-"} | {epochs or "-"} ({iters or "-"}) | '
            f'**{mean_std(maps)}** | {raw} | '
            f"{np.mean([r['chance'] for r in mine]):.2f} | {len(mine)} | "
            f"{' / '.join(f'{m:.1f}' for m in maps)} | "
            f"{np.mean([r['wall_s'] for r in mine]):.0f} |")
    return '\n'.join(lines)


def paired(records: List[dict], first: str, second: str) -> str:
    """Markdown table of ``first`` minus ``second`` on the same (seed, fold),
    per training-set size and budget both rows have: mean ± std of the paired
    differences, and how many runs ``first`` is ahead in."""
    def runs(row):
        return {(*setting(r)[:2], r['seed'], r['fold']): r['mAP']
                for r in records if r['row'] == row}
    a, b = runs(first), runs(second)
    lines = [f'| {first} minus {second} | photos | epochs | paired difference | ahead | '
             'per run |', '|---|---|---|---|---|---|']
    for n, epochs in sorted({key[:2] for key in a.keys() & b.keys()}):
        keys = sorted(k for k in a.keys() & b.keys() if k[:2] == (n, epochs))
        diffs = [a[k] - b[k] for k in keys]
        lines.append(f"| | {n or '-'} | {epochs or '-'} | **{mean_std(diffs)}** | "
                     f"{sum(d > 0 for d in diffs)} of {len(diffs)} | "
                     f"{' / '.join(f'{d:+.1f}' for d in diffs)} |")
    return '\n'.join(lines)


#: the plot's panels: mAP against training iterations, against training photos
PANELS = ('iterations', 'photos')


def curve_points(records: List[dict], rows: Sequence[str]) -> Dict[str, Dict[str, list]]:
    """Per panel (``'iterations'`` at the largest training set, ``'photos'`` at
    12 epochs) and row: ``(x, mean, std)`` over folds x seeds, rows with two
    points or more."""
    entries = groups(records, rows)
    most = max((n for _, n, *_ in entries), default=0)
    panels = {'iterations': (lambda n, e: n == most and e, 3),
              'photos': (lambda n, e: e == 12, 1)}
    out = {}
    for panel, (pick, x) in panels.items():
        for name in rows:
            pts = sorted((g[x], np.mean([r['mAP'] for r in g[4]]),
                          np.std([r['mAP'] for r in g[4]], ddof=1) if len(g[4]) > 1 else 0.)
                         for g in entries if g[0] == name and pick(g[1], g[2]))
            if len(pts) > 1:
                out.setdefault(panel, {})[name] = pts
    return out


def plot(records: List[dict], rows: Sequence[str], path: str,
         panels: Sequence[str] = PANELS) -> None:
    """mAP against training iterations (at the largest training set) and
    against training photos (at 12 epochs), mean ± std over folds x seeds, a
    panel for each of ``panels`` that has a row with two points or more; the
    chance level dashed."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    curves = {k: v for k, v in curve_points(records, rows).items() if k in panels}
    if not curves:
        raise ValueError('no row has two budgets or two training-set sizes to plot')
    fig, axes = plt.subplots(1, len(curves), figsize=(6 * len(curves), 4.5), squeeze=False)
    chance = np.mean([r['chance'] for r in records])
    drawn = list(dict.fromkeys(name for lines in curves.values() for name in lines))
    for ax, (panel, lines) in zip(axes[0], curves.items()):
        for name, pts in lines.items():
            xs, ms, ss = map(np.array, zip(*pts))
            ax.errorbar(xs, ms, yerr=ss, marker='o', capsize=3, label=name,
                        color=f'C{drawn.index(name) % 10}')  # one colour per row
        ax.axhline(chance, ls='--', c='grey', lw=1, label=f'chance ({chance:.1f})')
        ax.set_xlabel({'iterations': 'training iterations (all training photos)',
                       'photos': 'training photos (12 epochs)'}[panel])
        ax.set_ylabel('held-out mAP')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc='best')
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: Optional[List[str]] = None) -> List[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rows', nargs='+', default=list(ROWS), choices=list(ROWS),
                        metavar='ROW', help='rows to run (default: all)')
    parser.add_argument('--folds', type=int, default=3)
    parser.add_argument('--epochs', type=int, nargs='+', default=[12],
                        help='epoch budgets (a budget curve with several)')
    parser.add_argument('--train-sizes', type=int, nargs='+', default=[None],
                        help='training photos per fold (nested subsets; default: all)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--only-folds', type=int, nargs='+', help='run these folds only')
    parser.add_argument('--data-root', default=osp.join(ROOT, 'data', 'coco319'),
                        help='coco319 (315 annotated photos) or coco128 (126)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='overrides applied to every row')
    parser.add_argument('--threads', type=int, default=None, help='torch threads')
    parser.add_argument('--jobs', type=int, default=1,
                        help='runs at a time, one thread each (2 on a 2-core machine)')
    parser.add_argument('--work-dir', default=None, help='default: a temporary folder')
    parser.add_argument('--out', help='also write the runs as JSON lines to this file')
    parser.add_argument('--interpolate', type=float, nargs='+', default=[], metavar='ALPHA',
                        help='also evaluate (1 - ALPHA) x start + ALPHA x final weights '
                             '(WiSE-FT), tabled as the row "<row> + WiSE-FT <ALPHA>"')
    parser.add_argument('--val-every', type=int, metavar='EPOCHS',
                        help='also evaluate the held-out fold every EPOCHS epochs (the curve '
                             'is printed and kept in the records; nothing is selected on it)')
    parser.add_argument('--table-from', nargs='+', metavar='JSONL',
                        help='print the table of runs written by --out, without training')
    parser.add_argument('--plot', help='with --table-from: also draw the curves to this PNG')
    parser.add_argument('--plot-rows', nargs='+', metavar='ROW',
                        help='with --plot: draw these rows only (default: all)')
    parser.add_argument('--plot-panels', nargs='+', choices=PANELS, default=PANELS,
                        help='with --plot: draw these panels only (default: both)')
    parser.add_argument('--paired', nargs=2, action='append', metavar=('ROW', 'OTHER'),
                        default=[],
                        help='with --table-from: ROW minus OTHER on the same seeds and folds '
                             '(repeatable)')
    args = parser.parse_args(argv)
    if args.table_from:
        records = [json.loads(line) for path in args.table_from for line in open(path)]
        records += interpolated_records(records)
        named = list(dict.fromkeys(x['row'] for x in records))  # rows no longer in ROWS too
        rows = [r for r in ROWS if r in named] + [r for r in named if r not in ROWS]
        missing = ({r for pair in args.paired for r in pair} | set(args.plot_rows or ())) \
            - set(named)
        if missing:
            parser.error(f'--paired / --plot-rows: no runs of {sorted(missing)} in '
                         f'{args.table_from}')
        print(table(records, rows))
        for first, second in args.paired:
            print('\n' + paired(records, first, second))
        if args.plot:
            plot(records, args.plot_rows or rows, args.plot, args.plot_panels)
        return records
    if not osp.isdir(args.data_root):
        parser.error(f'photos not found at {osp.abspath(args.data_root)} (--data-root)')
    outside = [a for a in args.interpolate if not 0. <= a <= 1.]
    if outside:  # refused before any training, not after the first run
        parser.error(f'--interpolate: weights must be in [0, 1], got {outside}')
    if args.val_every is not None and args.val_every < 1:
        parser.error(f'--val-every: epochs must be at least 1, got {args.val_every}')
    if args.threads:
        torch.set_num_threads(args.threads)
    logging.getLogger('mmengine').setLevel(logging.WARNING)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        records = run(args.rows, args.folds, args.epochs, args.seeds,
                      osp.abspath(args.data_root), args.work_dir or tmp, args.only_folds,
                      args.cfg_options, args.jobs, args.out, args.train_sizes,
                      interpolations=args.interpolate, val_every=args.val_every)
    print(f'\n{osp.basename(osp.normpath(args.data_root))}, {args.folds}-fold CV over the '
          f'annotated photos, 224 px, {args.epochs} epochs, training photos '
          f'{args.train_sizes}, seeds {args.seeds}, '
          f'torch {torch.__version__}, {os.cpu_count()} CPU(s), {args.jobs} run(s) at a time; '
          f'total wall {(time.perf_counter() - start) / 60:.1f} min\n')
    averaged = interpolated_records(records)
    names = list(dict.fromkeys(r['row'] for r in averaged))
    print(table(records + averaged, list(args.rows) + names))
    return records


if __name__ == '__main__':
    main()
