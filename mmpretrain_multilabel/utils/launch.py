"""Config preparation shared by ``tools/train.py`` and ``tools/test.py``.

They keep the stock MMPretrain behaviour and fix what breaks off a GPU
cluster: persistent workers with ``num_workers=0``, and distributed runs on
CPU-only machines (gloo backend, no ``torch.cuda.set_device``, DDP without
``device_ids``).
"""
import argparse
import importlib.util
import os
import os.path as osp
from unittest import mock

import torch
from mmengine.config import Config
from mmengine.dist import init_dist, is_distributed
from mmpretrain.registry import OPTIM_WRAPPERS

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
