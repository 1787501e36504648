"""Tune per-class decision thresholds and report their effect on validation.

Sec. 6.2 of Prokofiev & Sovrasov 2022 (https://arxiv.org/abs/2209.06585):

1. score the *training* split with the test pipeline (no training
   augmentation; dataset wrappers such as ``RepeatDataset`` are dropped, so
   each image is scored once), and per class pick the threshold that
   maximises that class's F1 (``ThresholdTuningMetric``);
2. write ``thresholds.json`` (class name -> threshold);
3. evaluate the validation split with the default and the tuned thresholds
   (``MultiLabelSuite``: ``OF1``/``CF1`` and ``OF1-adapt``/``CF1-adapt``).

Example::

    python tools/tune_thresholds.py CONFIG CHECKPOINT --out thresholds.json \\
        --plots work_dirs/plots

Then: ``tools/infer.py CONFIG CHECKPOINT IMAGES --thresholds thresholds.json``.
"""
import argparse
import copy
import os.path as osp

from mmengine.config import Config, ConfigDict, DictAction
from mmengine.dist import is_main_process
from mmengine.runner import TestLoop

import mmpretrain_multilabel  # noqa: F401  registers the components
from mmpretrain_multilabel.apis import (
    build_runner,
    parse_with_launcher,
    prepare_dataloaders,
    setup_work_dir,
)
from mmpretrain_multilabel.utils import load_thresholds

REPORT_KEYS = ('mAP', 'OF1', 'CF1', 'OF1-adapt', 'CF1-adapt', 'mean-F1',
               'mean-F1-adapt')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Tune per-class thresholds on the training split and '
        'report OF1/CF1 on validation with default and tuned thresholds')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out',
        help='thresholds JSON to write (default: <work_dir>/thresholds.json)')
    parser.add_argument('--plots', help='directory for PNG plots')
    parser.add_argument(
        '--plot-classes', nargs='+', help='class names for the curves '
        '(default: the 8 most frequent classes)')
    parser.add_argument(
        '--default-thr',
        type=float,
        default=0.5,
        help='threshold of the "default" report and of classes without '
        'positives in the training split (default 0.5)')
    parser.add_argument(
        '--empty-class',
        choices=['zero', 'exclude'],
        default='zero',
        help='classes without positives: AP=0 counted (MMPretrain) or left '
        'out of the class means')
    parser.add_argument('--work-dir', help='directory for logs')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value (a list: key="[a,b]")')
    args = parse_with_launcher(parser, argv)
    load_thresholds(args.default_thr)  # range check with a clear message
    return args


def _leaf_dataset(dataset_cfg: dict, field: str) -> dict:
    """The dataset config that holds the pipeline, below any wrappers."""
    ds = dataset_cfg
    while 'pipeline' not in ds and 'dataset' in ds:
        ds = ds['dataset']
    if 'pipeline' not in ds:
        raise ValueError(
            f'{field}: cannot find the pipeline of dataset type '
            f"{ds.get('type')!r} (wrappers such as ConcatDataset with "
            "several datasets are not supported); set it with --cfg-options")
    return ds


def scoring_dataloader(cfg: Config) -> ConfigDict:
    """The training split with the evaluation pipeline, in order, once.

    The pipeline and batch size come from ``val_dataloader`` (else
    ``test_dataloader``); wrappers of the training dataset (repeat, class
    balancing) are dropped.
    """
    eval_loader = cfg.get('val_dataloader', None) or cfg.get(
        'test_dataloader', None)
    if eval_loader is None:
        raise ValueError('the config has no val_dataloader or '
                         'test_dataloader to take the test pipeline from')
    loader = copy.deepcopy(cfg.train_dataloader)
    dataset = copy.deepcopy(_leaf_dataset(loader['dataset'],
                                          'train_dataloader.dataset'))
    dataset['pipeline'] = copy.deepcopy(
        _leaf_dataset(eval_loader['dataset'], 'val_dataloader.dataset')
        ['pipeline'])
    loader['dataset'] = dataset
    loader['sampler'] = dict(type='DefaultSampler', shuffle=False)
    loader.pop('batch_sampler', None)
    loader['batch_size'] = eval_loader.get('batch_size',
                                           loader.get('batch_size', 1))
    loader['drop_last'] = False
    return ConfigDict(loader)


def report_dataloader(cfg: Config) -> ConfigDict:
    """The validation split (``val_dataloader``, else ``test_dataloader``)."""
    loader = cfg.get('val_dataloader', None) or cfg.get(
        'test_dataloader', None)
    return ConfigDict(copy.deepcopy(loader))


def format_report(metrics: dict) -> str:
    """A small table: one row per split, the columns of ``REPORT_KEYS``."""
    rows = []
    for split in ('train', 'val'):
        values = {k.split('/', 1)[1]: v for k, v in metrics.items()
                  if k.startswith(split + '/')}
        rows.append((split, [values.get(k) for k in REPORT_KEYS]))
    header = f"{'split':<6}" + ''.join(f'{k:>15}' for k in REPORT_KEYS)
    lines = [header]
    for split, values in rows:
        lines.append(f'{split:<6}' + ''.join(
            f'{v:>15.2f}' if v is not None else f"{'-':>15}"
            for v in values))
    return '\n'.join(lines)


def main(argv=None) -> dict:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    setup_work_dir(cfg, args.config, args.work_dir)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    out = args.out or osp.join(cfg.work_dir, 'thresholds.json')
    plots = {split: None if args.plots is None else osp.join(args.plots, split)
             for split in ('train', 'val')}
    common = dict(empty_class=args.empty_class,
                  plot_classes=args.plot_classes)

    prepare_dataloaders(cfg)
    train_loader = scoring_dataloader(cfg)
    val_loader = report_dataloader(cfg)
    cfg.test_dataloader = train_loader
    cfg.test_evaluator = dict(
        type='ThresholdTuningMetric', thr=args.default_thr, out_file=out,
        prefix='train', plot_dir=plots['train'], **common)
    cfg.test_cfg = cfg.get('test_cfg', None) or dict()
    # the training loop is not needed (its dataloader would be built)
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper',
                'param_scheduler', 'val_dataloader', 'val_cfg',
                'val_evaluator'):
        cfg.pop(key, None)

    runner = build_runner(cfg)
    runner.call_hook('before_run')
    runner.load_or_resume()
    metrics = dict(runner.test_loop.run())
    val_loop = TestLoop(
        runner, val_loader,
        dict(type='MultiLabelSuite', thr=args.default_thr, adapt_thr=out,
             prefix='val', plot_dir=plots['val'], **common),
        fp16=cfg.test_cfg.get('fp16', False))
    metrics.update(val_loop.run())
    runner.call_hook('after_run')
    if is_main_process():
        print(f'thresholds written to {out}')
        print(format_report(metrics))
        if args.plots:
            print(f'plots written to {args.plots}/{{train,val}}')
    metrics['thresholds_file'] = out
    return metrics


if __name__ == '__main__':
    main()
