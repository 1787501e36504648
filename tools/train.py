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
import os
import sys

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
import mmpretrain_multilabel  # noqa: E402,F401  registers the components
from mmpretrain_multilabel.utils import (  # noqa: E402
    enable_amp,
    enable_exact_resume,
    enable_tensorboard,
    init_distributed,
    parse_with_launcher,
    prepare_dataloaders,
    setup_work_dir,
)


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


def merge_args(cfg: Config, args) -> Config:
    """Merge command-line arguments into the config."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    cfg.launcher = args.launcher
    setup_work_dir(cfg, args.config, args.work_dir)
    if args.amp:
        enable_amp(cfg)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if args.tensorboard:
        enable_tensorboard(cfg)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    enable_exact_resume(cfg)
    prepare_dataloaders(
        cfg,
        pin_memory=not args.no_pin_memory,
        persistent_workers=not args.no_persistent_workers)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = merge_args(Config.fromfile(args.config), args)
    init_distributed(cfg)
    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    runner.train()
    return runner


if __name__ == '__main__':
    main()
