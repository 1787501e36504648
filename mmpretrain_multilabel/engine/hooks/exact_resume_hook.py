"""What an exact resume needs beyond MMEngine's checkpoints.

MMEngine saves the weights, optimizer, schedulers, message hub and the hooks'
own state, and on resume seeds the random generators again from the seed,
so a resumed run draws other random numbers (augmentation, dropout, the data
loader's base seed) than the uninterrupted one. MMEngine also resumes from a
truncated file with an unreadable error and from another config's checkpoint
with a partial load and a warning.

:class:`ExactResumeHook` saves the generators' states (Python ``random``,
NumPy's global generator, torch CPU and CUDA) at the end of each training
epoch in the checkpoint and restores them when training resumes, and checks
the checkpoint it resumes from before MMEngine loads it. With
``randomness=dict(seed=..., deterministic=True)`` on the CPU, a run resumed
from an epoch checkpoint ends with the same weights, bit for bit, as the
uninterrupted run.

Validation between epochs does not move the generators of training: their
state at the end of a training epoch is put back before the next one, in the
uninterrupted run as in the resumed one.
"""
import os.path as osp
import random
from typing import Dict, List, Mapping, Optional

import numpy as np
import torch
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import find_latest_checkpoint
from mmengine.runner.checkpoint import _load_checkpoint
from mmpretrain.registry import HOOKS

#: Key of the generator states in ``checkpoint['meta']``.
RNG_KEY = 'rng_states'


class CheckpointMismatchError(ValueError):
    """A checkpoint cannot be resumed: unreadable, or made for another
    model."""


def get_rng_states() -> Dict[str, object]:
    """States of the Python, NumPy and torch (CPU, and CUDA if available)
    global random generators."""
    states = dict(python=random.getstate(), numpy=np.random.get_state(),
                  torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: Mapping[str, object]) -> None:
    """Restore states saved by :func:`get_rng_states` (CUDA only where
    there are as many devices)."""
    random.setstate(states['python'])
    np.random.set_state(states['numpy'])
    torch.set_rng_state(states['torch'])
    cuda = states.get('cuda')
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


def read_checkpoint(path: str) -> dict:
    """Load a checkpoint file on the CPU.

    Raises:
        CheckpointMismatchError: The file is missing, truncated or not a
            checkpoint; the message names it.
    """
    local = '://' not in path
    if local and not osp.isfile(path):
        raise CheckpointMismatchError(f'checkpoint not found: {path}')
    try:
        checkpoint = _load_checkpoint(path, map_location='cpu')
    except Exception as e:  # torch.load: RuntimeError, EOFError, UnpicklingError, ...
        raise CheckpointMismatchError(
            f'cannot read checkpoint {path}'
            + (f' ({osp.getsize(path)} bytes)' if local else '') + ': it is truncated or '
            f'not a checkpoint (a run killed while saving it?); delete it or resume from '
            f'another one. {type(e).__name__}: {e}') from e
    if not isinstance(checkpoint, dict) or 'state_dict' not in checkpoint:
        raise CheckpointMismatchError(f'{path} is not a training checkpoint (no state_dict)')
    return checkpoint


def _strip_module(key: str) -> str:
    return key[len('module.'):] if key.startswith('module.') else key


def state_dict_mismatches(saved: Mapping[str, torch.Tensor],
                          expected: Mapping[str, torch.Tensor],
                          limit: int = 10) -> List[str]:
    """What does not fit between a checkpoint's ``state_dict`` and a
    model's: missing and unexpected keys, tensors of another shape.

    Args:
        saved: The checkpoint's state dict (a ``module.`` prefix is
            ignored).
        expected: The model's state dict.
        limit: Keys listed per kind of mismatch (the rest is counted).

    Returns:
        List[str]: One line per kind of mismatch; empty if it fits.
    """
    saved = {_strip_module(k): v for k, v in saved.items()}
    missing = [k for k in expected if k not in saved]
    unexpected = [k for k in saved if k not in expected]
    shapes = [f'{k}: {tuple(saved[k].shape)} in the checkpoint, {tuple(v.shape)} in the model'
              for k, v in expected.items()
              if k in saved and hasattr(saved[k], 'shape') and saved[k].shape != v.shape]

    def listed(title: str, items: List[str]) -> Optional[str]:
        if not items:
            return None
        more = f' (and {len(items) - limit} more)' if len(items) > limit else ''
        return f'{len(items)} {title}: {", ".join(items[:limit])}{more}'

    return [line for line in (listed('missing keys', missing),
                              listed('unexpected keys', unexpected),
                              listed('shape mismatches', shapes)) if line]


def check_resume_checkpoint(path: str, model: torch.nn.Module) -> dict:
    """Read a checkpoint to resume from and check that it fits ``model``.

    Returns:
        dict: The checkpoint.

    Raises:
        CheckpointMismatchError: It is unreadable, has no training state, or
            its weights do not fit the model; the message names the file and
            what does not fit.
    """
    checkpoint = read_checkpoint(path)
    problems = state_dict_mismatches(checkpoint['state_dict'], model.state_dict())
    meta = checkpoint.get('meta')
    if not isinstance(meta, dict) or 'epoch' not in meta or 'iter' not in meta:
        problems.append("no training progress (meta['epoch'], meta['iter']): weights only")
    if problems:
        raise CheckpointMismatchError(
            f'cannot resume from {path}: it does not fit the model of this config (a '
            'checkpoint of another config?): ' + '; '.join(problems)
            + '. To start from its weights instead, use load_from without --resume.')
    return checkpoint


@HOOKS.register_module()
class ExactResumeHook(Hook):
    """Resume exactly: random generator states in the checkpoints, and the
    checkpoint checked before it is loaded.

    * ``after_train_epoch``: the generator states are taken (before the
      checkpoint hook saves), and saved in every checkpoint until the next
      epoch starts (``meta['rng_states']``);
    * ``before_train_epoch``: the states taken at the end of the previous
      epoch, or read from the resumed checkpoint, are restored: what runs
      between epochs (validation) does not change training's random numbers;
    * ``before_run``: when the runner resumes, its checkpoint is read and
      checked against the model (:func:`check_resume_checkpoint`): a
      truncated file or one of another model stops the run with a
      :class:`CheckpointMismatchError` naming the file, instead of MMEngine's
      partial load with a warning.

    A checkpoint saved inside an epoch (iteration-based checkpoints) gets the
    states of that moment. In distributed training the main process's
    states are saved, and every process restores them (not with
    ``randomness.diff_rank_seed=True``, where each process has its own: they
    are then seeded afresh, as MMEngine does).
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._states: Optional[Dict[str, object]] = None

    def before_run(self, runner) -> None:
        path = resume_path(runner)
        if path is None:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        check_resume_checkpoint(path, model)

    def after_train_epoch(self, runner) -> None:
        self._states = get_rng_states()

    def before_train_epoch(self, runner) -> None:
        if self._states is not None:
            set_rng_states(self._states)
            self._states = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        states = self._states if self._states is not None else get_rng_states()
        checkpoint.setdefault('meta', {})[RNG_KEY] = states

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False):
            return  # load_from: new training from these weights, fresh generators
        states = (checkpoint.get('meta') or {}).get(RNG_KEY)
        if states is None:
            runner.logger.warning(
                'ExactResumeHook: the checkpoint has no random generator states (saved '
                'without this hook); training resumes with freshly seeded generators.')
            return
        if get_world_size() > 1 and runner._randomness_cfg.get('diff_rank_seed', False):
            runner.logger.warning(
                'ExactResumeHook: diff_rank_seed=True gives each process its own generators '
                'but the checkpoint holds the main process\'s only; training resumes with '
                'freshly seeded generators.')
            return
        self._states = states


def resume_path(runner) -> Optional[str]:
    """The checkpoint the runner will resume from, as ``Runner.load_or_resume``
    picks it: ``load_from`` with ``resume``, else the work directory's latest
    checkpoint; None when it does not resume (or finds nothing)."""
    if not getattr(runner, '_resume', False):
        return None
    if runner._load_from is not None:
        return runner._load_from
    return find_latest_checkpoint(runner.work_dir)
