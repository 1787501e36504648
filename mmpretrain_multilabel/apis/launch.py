"""The train and test launch helpers behind ``tools/train.py`` and
``tools/test.py`` (and ``tools/tune_thresholds.py``, the benchmarks).

They keep the stock MMPretrain behaviour and fix what breaks off a GPU
cluster: persistent workers with ``num_workers=0``, and distributed runs on
CPU-only machines (gloo backend, no ``torch.cuda.set_device``, DDP without
``device_ids``). :func:`build_runner` builds the label graphs a config asks
for (:func:`~.label_graphs.prepare_label_graphs`) before the runner builds
the model.
"""
import argparse
import importlib.util
import os
import os.path as osp
from copy import deepcopy
from typing import List, Optional, Sequence
from unittest import mock

import torch
from mmengine.config import Config, ConfigDict
from mmengine.dist import init_dist, is_distributed
from mmengine.registry import RUNNERS
from mmengine.runner import Runner
from mmpretrain.registry import OPTIM_WRAPPERS

from .label_graphs import prepare_label_graphs

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def parse_with_launcher(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """Add the stock tools' ``--launcher`` and ``--local-rank`` options to
    ``parser``, parse ``argv`` and export ``LOCAL_RANK`` (as MMPretrain's
    tools do, for launchers that pass the rank as an argument)."""
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def setup_work_dir(cfg: Config, config_path: str, work_dir=None) -> None:
    """Work dir priority: command line > config > ``work_dirs/<config>``."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config_path))[0])


def prepare_dataloaders(cfg: Config,
                        pin_memory: bool = True,
                        persistent_workers: bool = True) -> None:
    """Fill the stock dataloader defaults without breaking ``num_workers=0``.

    ``persistent_workers`` is only set where the loader has workers: PyTorch
    refuses it otherwise (MMPretrain's stock tool forces it and crashes).
    """
    for field in DATALOADERS:
        loader = cfg.get(field, None)
        if loader is None:
            continue
        loader.setdefault('collate_fn', dict(type='default_collate'))
        loader.setdefault('pin_memory', pin_memory)
        if not pin_memory:
            loader.pin_memory = False
        has_workers = loader.get('num_workers', 0) > 0
        loader.setdefault('persistent_workers',
                          persistent_workers and has_workers)
        if not (persistent_workers and has_workers):
            loader.persistent_workers = False


def enable_amp(cfg: Config) -> None:
    """Switch the optimizer wrapper to its mixed-precision variant.

    The stock tool overwrites any wrapper type with ``AmpOptimWrapper``, which
    silently drops wrappers such as SAM. Here a wrapper class may name its
    AMP variant in an ``amp_variant`` class attribute; a wrapper without one
    is an error rather than a silent replacement.
    """
    wrapper_type = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper_type in ('OptimWrapper', 'AmpOptimWrapper'):
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
    else:
        wrapper_cls = OPTIM_WRAPPERS.get(wrapper_type)
        amp_variant = getattr(wrapper_cls, 'amp_variant', None)
        if amp_variant is None:
            raise ValueError(
                f'--amp: optimizer wrapper {wrapper_type!r} has no '
                'mixed-precision variant; remove --amp or change '
                'optim_wrapper.type')
        cfg.optim_wrapper.type = amp_variant
    cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')


def enable_tensorboard(cfg: Config) -> None:
    """Add MMEngine's ``TensorboardVisBackend`` to the visualizer (once).

    The other backends (the stock ``LocalVisBackend``, or WandB, ...) stay;
    a config without a visualizer gets MMPretrain's default one. Events are
    written to ``<work_dir>/<timestamp>/vis_data/``.

    Raises:
        ImportError: The ``tensorboard`` package is not installed (checked
            here instead of at the first logged value).
    """
    if importlib.util.find_spec('tensorboard') is None:
        raise ImportError('--tensorboard needs the tensorboard package: '
                          'pip install tensorboard (or the setup.py extra '
                          '"tensorboard")')
    vis = cfg.setdefault('visualizer', dict(type='UniversalVisualizer'))
    backends = vis.setdefault('vis_backends', [dict(type='LocalVisBackend')])
    if not any(b.get('type') == 'TensorboardVisBackend' for b in backends):
        backends.append(dict(type='TensorboardVisBackend'))


def enable_exact_resume(cfg: Config) -> None:
    """Add ``ExactResumeHook`` to ``custom_hooks`` (once): random generator
    states saved in the checkpoints and restored on resume, and the resumed
    checkpoint checked before it is loaded."""
    hooks = cfg.setdefault('custom_hooks', [])
    if not any(str(h.get('type', '')).split('.')[-1] == 'ExactResumeHook' for h in hooks):
        hooks.append(dict(type='ExactResumeHook'))


def enable_config_checks(cfg: Config) -> None:
    """Add ``ConfigCheckHook`` to ``custom_hooks`` (once): class lists of the
    splits, ``num_classes`` and cosine losses checked before the run."""
    hooks = cfg.setdefault('custom_hooks', [])
    if not any(str(h.get('type', '')).split('.')[-1] == 'ConfigCheckHook' for h in hooks):
        hooks.append(dict(type='ConfigCheckHook'))


def init_distributed(cfg: Config) -> None:
    """Initialise ``torch.distributed`` on CPU-only machines.

    MMEngine's launchers call ``torch.cuda.set_device`` unconditionally and
    wrap models with ``device_ids=[local_rank]``; both fail without a GPU.
    On such machines the process group is created here with the gloo
    backend (the runner then skips its own initialisation) and DDP is built
    without device ids. With a GPU nothing changes.
    """
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = dict(env_cfg.get('dist_cfg', {}))
    dist_cfg['backend'] = 'gloo'
    env_cfg['dist_cfg'] = dist_cfg
    if not is_distributed():
        with mock.patch('torch.cuda.set_device'):
            init_dist(cfg.launcher, **dist_cfg)
    wrapper = cfg.get('model_wrapper_cfg', None) or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config, merge ``cfg_options`` and build its label graphs
    (:func:`~.label_graphs.prepare_label_graphs`): ready to build its model.

    Raises:
        FileNotFoundError: ``path`` does not exist.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config not found: {path}')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return prepare_label_graphs(cfg)


def build_runner(cfg: Config):
    """Build the config's label graphs, add the config checks
    (:func:`enable_config_checks`), set up CPU-only distributed runs
    (:func:`init_distributed`), then the runner (``runner_type`` or
    MMEngine's :class:`~mmengine.runner.Runner`)."""
    prepare_label_graphs(cfg)
    enable_config_checks(cfg)
    init_distributed(cfg)
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)


def merge_train_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge ``tools/train.py``'s command-line arguments into the config."""
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


def merge_test_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge ``tools/test.py``'s command-line arguments into the config."""
    cfg.launcher = args.launcher
    setup_work_dir(cfg, args.config, args.work_dir)
    cfg.load_from = args.checkpoint
    cfg.resume = False  # a config saved by a resumed run says resume=True
    if args.amp:
        cfg.test_cfg.fp16 = True
    if args.show or args.show_dir is not None:
        enable_visualization(cfg, args.show, args.show_dir, args.wait_time, args.interval)
    if args.tta:
        enable_flip_tta(cfg)
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


def enable_visualization(cfg: Config, show: bool, out_dir: Optional[str], wait_time: float,
                         interval: int) -> None:
    """Switch on the ``visualization`` hook (``--show`` / ``--show-dir``)."""
    if 'visualization' not in cfg.default_hooks:
        raise KeyError('--show/--show-dir need a "visualization" hook in default_hooks')
    vis = cfg.default_hooks.visualization
    vis.enable = True
    vis.show = show
    vis.wait_time = wait_time
    vis.out_dir = out_dir
    vis.interval = interval


def enable_flip_tta(cfg: Config) -> None:
    """Flip test-time augmentation (``--tta``): MMPretrain's
    ``AverageClsScoreTTA`` over the test pipeline with and without a
    horizontal flip, unless the config has its own ``tta_model`` /
    ``tta_pipeline``."""
    cfg.tta_model = cfg.get('tta_model', dict(type='mmpretrain.AverageClsScoreTTA'))
    if 'tta_pipeline' not in cfg:
        pipeline = deepcopy(cfg.test_dataloader.dataset.pipeline)
        flip = [dict(type='RandomFlip', prob=0.), dict(type='RandomFlip', prob=1.)]
        cfg.tta_pipeline = pipeline[:-1] + [
            dict(type='TestTimeAug', transforms=[flip, [pipeline[-1]]])
        ]
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline


SUITE_METRICS = ('MultiLabelSuite', 'ThresholdTuningMetric')


def suite_metrics(cfg: Config, flag: str) -> List[dict]:
    """The MultiLabelSuite configs of ``test_evaluator`` (``flag`` names
    the option that needs them in the error)."""
    evaluators: Sequence[dict] = cfg.test_evaluator
    if isinstance(evaluators, dict):
        evaluators = [evaluators]
    suites = [m for m in evaluators if m.get('type') in SUITE_METRICS]
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
