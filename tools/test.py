"""Evaluate a checkpoint: MMPretrain's ``tools/test.py`` with the plugin.

Same flags and behaviour as the stock tool, plus: it works with
``num_workers=0``, distributed evaluation works on CPU-only machines, and
``--plots DIR`` / ``--report DIR`` write evaluation plots / an HTML report.
"""
import argparse
import os
import os.path as osp
import sys
from copy import deepcopy

import mmengine
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.evaluator import DumpResults
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
import mmpretrain_multilabel  # noqa: E402,F401  registers the components
from mmpretrain_multilabel.utils import (  # noqa: E402
    init_distributed,
    parse_with_launcher,
    prepare_dataloaders,
    setup_work_dir,
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Evaluate a checkpoint (test split of the config)')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the directory to save evaluation metrics')
    parser.add_argument('--out', help='the file to output results')
    parser.add_argument(
        '--out-item',
        choices=['metrics', 'pred'],
        help="'metrics' dumps the metrics, 'pred' (default) the predictions")
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value (a list: key="[a,b]")')
    parser.add_argument(
        '--amp', action='store_true', help='mixed-precision inference')
    parser.add_argument(
        '--show-dir', help='directory to save visualised predictions')
    parser.add_argument(
        '--show', action='store_true', help='display predictions')
    parser.add_argument(
        '--interval', type=int, default=1, help='visualise every N samples')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='display time (s)')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='disable pin_memory in the dataloaders')
    parser.add_argument(
        '--tta', action='store_true', help='flip test-time augmentation')
    parser.add_argument(
        '--plots',
        metavar='DIR',
        help='write per-class AP, precision-recall and F1-versus-threshold '
        'plots (PNG) to DIR; needs a MultiLabelSuite in test_evaluator')
    parser.add_argument(
        '--report',
        metavar='DIR',
        help='write a self-contained HTML report to DIR/index.html: metrics, '
        'plots, label co-occurrence and the worst images with predicted and '
        'true labels; needs a MultiLabelSuite in test_evaluator')
    parser.add_argument(
        '--report-images',
        type=int,
        default=48,
        metavar='N',
        help='number of images (the worst ones) in the report (default 48)')
    parser.add_argument(
        '--strict',
        action='store_true',
        help='--report: stop at the first image the report cannot read (default: a warning '
        'naming it, a placeholder card and the list of unreadable files in the report)')
    args = parse_with_launcher(parser, argv)
    if args.out is None and args.out_item is not None:
        parser.error('--out-item needs --out')
    return args


def merge_args(cfg: Config, args) -> Config:
    """Merge command-line arguments into the config."""
    cfg.launcher = args.launcher
    setup_work_dir(cfg, args.config, args.work_dir)
    cfg.load_from = args.checkpoint
    if args.amp:
        cfg.test_cfg.fp16 = True
    if args.show or args.show_dir is not None:
        if 'visualization' not in cfg.default_hooks:
            raise KeyError('--show/--show-dir need a "visualization" hook in '
                           'default_hooks')
        vis = cfg.default_hooks.visualization
        vis.enable = True
        vis.show = args.show
        vis.wait_time = args.wait_time
        vis.out_dir = args.show_dir
        vis.interval = args.interval
    if args.tta:
        cfg.tta_model = cfg.get('tta_model',
                                dict(type='mmpretrain.AverageClsScoreTTA'))
        if 'tta_pipeline' not in cfg:
            pipeline = deepcopy(cfg.test_dataloader.dataset.pipeline)
            flip = [dict(type='RandomFlip', prob=0.), dict(
                type='RandomFlip', prob=1.)]
            cfg.tta_pipeline = pipeline[:-1] + [
                dict(type='TestTimeAug', transforms=[flip, [pipeline[-1]]])
            ]
        cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.plots or args.report:
        evaluate_checkpoint_weights_only(cfg)
    if args.plots:
        enable_plots(cfg, args.plots)
    if args.report:
        enable_report(cfg, args.report, max_images=args.report_images, strict=args.strict,
                      title=f'{osp.basename(args.config)} | '
                      f'{osp.basename(args.checkpoint)}')
    prepare_dataloaders(cfg, pin_memory=not args.no_pin_memory)
    return cfg


def suite_metrics(cfg: Config, flag: str) -> list:
    """The MultiLabelSuite configs of ``test_evaluator`` (``flag`` names
    the option that needs them in the error)."""
    evaluators = cfg.test_evaluator
    if isinstance(evaluators, dict):
        evaluators = [evaluators]
    suites = [m for m in evaluators
              if m.get('type') in ('MultiLabelSuite', 'ThresholdTuningMetric')]
    if not suites:
        raise ValueError(f'{flag} needs a MultiLabelSuite in test_evaluator')
    return suites


def evaluate_checkpoint_weights_only(cfg: Config) -> None:
    """With an ``EMAHook`` that evaluates both models, the test loop runs
    twice and the raw model's pass would overwrite the plots and report of
    the EMA pass. Keep the EMA pass only: the EMA weights are the checkpoint's
    ``state_dict``, which ``tools/infer.py`` and the exporter use."""
    for hook in cfg.get('custom_hooks', []):
        if hook.get('type') == 'EMAHook' and hook.get('evaluate_on_ema', True):
            hook['evaluate_on_origin'] = False


def enable_plots(cfg: Config, plot_dir: str) -> None:
    """Make the suite metrics of ``test_evaluator`` write their plots."""
    for metric in suite_metrics(cfg, '--plots'):
        metric['plot_dir'] = plot_dir


def enable_report(cfg: Config, report_dir: str, **options) -> None:
    """Make the suite metrics of ``test_evaluator`` write the HTML report
    (``options``: ``write_report`` arguments such as ``max_images``)."""
    for metric in suite_metrics(cfg, '--report'):
        metric['report_dir'] = report_dir
        metric['report_options'] = options


def main(argv=None):
    args = parse_args(argv)
    cfg = merge_args(Config.fromfile(args.config), args)
    init_distributed(cfg)
    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    if args.out and args.out_item in ('pred', None):
        runner.test_evaluator.metrics.append(
            DumpResults(out_file_path=args.out))
    metrics = runner.test()
    if args.out and args.out_item == 'metrics':
        mmengine.dump(metrics, args.out)
    return metrics


if __name__ == '__main__':
    main()
