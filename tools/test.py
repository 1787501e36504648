"""Evaluate a checkpoint: MMPretrain's ``tools/test.py`` with the plugin.

Same flags and behaviour as the stock tool, plus: it works with
``num_workers=0``, distributed evaluation works on CPU-only machines, and
``--plots DIR`` / ``--report DIR`` write evaluation plots / an HTML report.
"""
import argparse

import mmengine
from mmengine.config import Config, DictAction
from mmengine.evaluator import DumpResults

import mmpretrain_multilabel  # noqa: F401  registers the components
from mmpretrain_multilabel.apis import build_runner, merge_test_args, parse_with_launcher


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


def main(argv=None):
    args = parse_args(argv)
    runner = build_runner(merge_test_args(Config.fromfile(args.config), args))
    if args.out and args.out_item in ('pred', None):
        runner.test_evaluator.metrics.append(
            DumpResults(out_file_path=args.out))
    metrics = runner.test()
    if args.out and args.out_item == 'metrics':
        mmengine.dump(metrics, args.out)
    return metrics


if __name__ == '__main__':
    main()
