"""One-parameter sweeps of a training config (Figures 3-4 of the paper).

The paper varies the AAM scale ``s`` (Fig. 3) and margin ``m`` (Fig. 4) of
EfficientNetV2-s + ML-Decoder + AAM at 224 px on COCO and VOC (Prokofiev & Sovrasov
2022, https://arxiv.org/abs/2209.06585, Sec. 6.1.1). A sweep trains one config once
per value with a ``--cfg-options`` override, reads each run's best validation score
from MMEngine's ``scalars.json``, and writes a table (Markdown and CSV) and a plot.
``tools/analysis_tools/aam_sweep.py`` is its command line.
"""
import csv
import glob
import json
import os
import os.path as osp
import subprocess
import sys
from typing import Dict, List, Optional, Sequence

# the AAM parameters of a head whose loss is BatchSumLoss(AAMLoss)
# (configs/_base_/models/losses/aam_*.py)
PARAM_KEYS = {'s': 'model.head.loss.loss.s', 'm': 'model.head.loss.loss.m'}
METRIC = 'multi-label/mAP'


def run_dir(work_root: str, param: str, value: float) -> str:
    return osp.join(work_root, f'{param}_{value:g}')


def train_command(config: str, work_dir: str, key: str, value: float, gpus: int = 1,
                  cfg_options: Sequence[str] = (), root: str = '.') -> List[str]:
    """``tools/train.py`` (or ``tools/dist_train.sh`` for several GPUs) for one value."""
    options = ['--cfg-options', f'{key}={value!r}', *cfg_options]
    if gpus > 1:
        return ['bash', osp.join(root, 'tools', 'dist_train.sh'), config, str(gpus),
                '--work-dir', work_dir, *options]
    return [sys.executable, osp.join(root, 'tools', 'train.py'), config,
            '--work-dir', work_dir, *options]


def best_score(work_dir: str, metric: str = METRIC) -> float:
    """Best validation ``metric`` of a run, raw or EMA model (``<metric>_origin``)."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no */vis_data/scalars.json under {work_dir}')
    scores = []
    with open(files[-1]) as f:
        for line in f:
            row = json.loads(line)
            scores += [row[k] for k in (metric, metric + '_origin') if k in row]
    if not scores:
        raise ValueError(f'{files[-1]} has no {metric!r}: did the run validate?')
    return max(scores)


def write_table(rows: List[Dict], path_stem: str, param: str, metric: str = METRIC) -> str:
    """``<stem>.md`` and ``<stem>.csv`` of (value, score); returns the Markdown."""
    lines = [f'| {param} | {metric} |', '|---|---|']
    lines += [f"| {r['value']:g} | {r['score']:.2f} |" for r in rows]
    text = '\n'.join(lines) + '\n'
    with open(path_stem + '.md', 'w') as f:
        f.write(text)
    with open(path_stem + '.csv', 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow([param, metric])
        writer.writerows([[r['value'], r['score']] for r in rows])
    return text


def plot_sweep(rows: List[Dict], path: str, param: str, title: str,
               metric: str = METRIC) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    ax.plot([r['value'] for r in rows], [r['score'] for r in rows], 'o-')
    ax.set_xlabel(param)
    ax.set_ylabel(metric)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_sweep(config: str, param: str, values: Sequence[float], work_root: str,
              key: Optional[str] = None, gpus: int = 1, cfg_options: Sequence[str] = (),
              metric: str = METRIC, root: str = '.', env: Optional[dict] = None) -> List[Dict]:
    """Train ``config`` once per value; write the table and plot under ``work_root``."""
    key = key or PARAM_KEYS[param]
    os.makedirs(work_root, exist_ok=True)
    rows = []
    for value in values:
        work_dir = run_dir(work_root, param, value)
        subprocess.run(train_command(config, work_dir, key, value, gpus, cfg_options, root),
                       check=True, env=env)
        rows.append(dict(value=float(value), score=best_score(work_dir, metric),
                         work_dir=work_dir))
    stem = osp.join(work_root, f'sweep_{param}')
    write_table(rows, stem, param, metric)
    plot_sweep(rows, stem + '.png', param, osp.basename(config), metric)
    return rows
