"""Train a model: MMPretrain's ``tools/train.py`` with the plugin loaded.

Same flags and behaviour as the stock tool, plus: it works with
``num_workers=0``, distributed runs work on CPU-only machines (gloo), and
``--amp`` never silently replaces a custom optimizer wrapper (such as SAM),
``--tensorboard`` adds TensorBoard logging, and ``--resume`` is exact:
``ExactResumeHook`` saves the random generator states in the checkpoints,
restores them on resume and refuses a truncated checkpoint or one of another
config with an error naming the file.
"""
import argparse

from mmengine.config import Config, DictAction

import mmpretrain_multilabel  # noqa: F401  registers the components
from mmpretrain_multilabel.apis import build_runner, merge_train_args, parse_with_launcher


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or (without a value) from '
        'the latest checkpoint in the work directory')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--tensorboard',
        action='store_true',
        help='also log losses, learning rate and validation metrics to '
        'TensorBoard (<work_dir>/<timestamp>/vis_data/)')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual batch size')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='disable pin_memory in the dataloaders')
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='disable persistent_workers in the dataloaders')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value (a list: key="[a,b]")')
    args = parse_with_launcher(parser, argv)
    return args


def main(argv=None):
    args = parse_args(argv)
    runner = build_runner(merge_train_args(Config.fromfile(args.config), args))
    runner.train()
    return runner


if __name__ == '__main__':
    main()
