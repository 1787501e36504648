"""Learning-rate estimation by an exponential range test before training.

`Smith (2017) <https://arxiv.org/abs/1506.01186>`_: train a few iterations
while the learning rate grows exponentially from ``min_lr`` to ``max_lr`` and
watch the loss. The pick follows the authors' code (deep-object-reid's
``LrFinder`` in ``fast_ai`` mode, through ``torch-lr-finder``): the loss is
smoothed exponentially, the test stops once the smoothed loss exceeds
``diverge_th`` times its best, the first ``skip_start`` and last ``skip_end``
points are dropped, and the learning rate where the smoothed loss falls
fastest (most negative finite difference per step, i.e. per log-LR step) is
taken, divided by ``divisor``.
"""
import copy
import json
import math
import os.path as osp
import random
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.dist import all_reduce, get_world_size, is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from mmengine.optim.scheduler.param_scheduler import OneCycleParamScheduler
from mmpretrain.registry import HOOKS

from .early_stopping_hook import _flatten_schedulers

LR_KEYS = ('lr', 'initial_lr', 'max_lr', 'min_lr')


def exponential_lrs(min_lr: float, max_lr: float, num: int) -> List[float]:
    """``num`` learning rates from ``min_lr`` to ``max_lr``, log-spaced."""
    if num == 1:
        return [min_lr]
    ratio = max_lr / min_lr
    return [min_lr * ratio**(i / (num - 1)) for i in range(num)]


def smooth_losses(losses: Sequence[float], smooth_f: float) -> List[float]:
    """Exponential moving average, ``s_i = f * l_i + (1 - f) * s_{i-1}``."""
    out: List[float] = []
    for loss in losses:
        out.append(loss if not out else smooth_f * loss +
                   (1 - smooth_f) * out[-1])
    return out


def steepest_descent_lr(lrs: Sequence[float],
                        smoothed: Sequence[float],
                        skip_start: int = 10,
                        skip_end: int = 5) -> Optional[int]:
    """Index (into ``lrs``) of the steepest fall of the smoothed loss.

    Returns None when fewer than 3 points remain after skipping.
    """
    end = len(smoothed) - skip_end
    window = np.asarray(smoothed[skip_start:end], dtype=np.float64)
    if window.size < 3:
        return None
    return skip_start + int(np.argmin(np.gradient(window)))


def _lr_schedulers(runner) -> list:
    return [s for s in _flatten_schedulers(runner.param_schedulers)
            if getattr(s, 'param_name', None) == 'lr']


def peak_lr(optim_wrapper: OptimWrapper, schedulers: list) -> List[float]:
    """Peak learning rate of each parameter group (OneCycle's ``max_lr``,
    else the scheduler-free base ``initial_lr``/``lr``)."""
    onecycle = any(isinstance(s, OneCycleParamScheduler) for s in schedulers)
    return [
        g['max_lr'] if onecycle else g.get('initial_lr', g['lr'])
        for g in optim_wrapper.param_groups
    ]


def scale_lr_schedule(optim_wrapper: OptimWrapper, schedulers: list,
                      factor: float) -> None:
    """Multiply every learning rate of the schedule by ``factor``.

    Covers the optimizer's groups (``lr``, ``initial_lr`` and OneCycle's
    ``max_lr``/``min_lr``; with several groups the wrapper adds its
    ``base_param_settings`` pseudo-group, scheduled and logged as
    ``base_lr``), the schedulers' base values and OneCycle's ``eta_max``;
    absolute floors such as ``CosineAnnealingLR.eta_min`` are left as
    configured.
    """
    for group in optim_wrapper.param_groups:
        for key in LR_KEYS:
            if key in group:
                group[key] *= factor
    if 'lr' in optim_wrapper.optimizer.defaults:
        optim_wrapper.optimizer.defaults['lr'] *= factor
    for sched in schedulers:
        sched.base_values = [v * factor for v in sched.base_values]
        if hasattr(sched, '_last_value'):
            sched._last_value = [v * factor for v in sched._last_value]
        if isinstance(sched, OneCycleParamScheduler):
            eta = sched.eta_max
            sched.eta_max = ([v * factor for v in eta] if isinstance(
                eta, (list, tuple)) else eta * factor)


@HOOKS.register_module()
class LREstimationHook(Hook):
    """Pick the peak learning rate by a range test before training.

    Before the first iteration (skipped when resuming) the hook trains
    ``num_iters`` updates on the training data with exponentially growing
    learning rates through the model's own ``train_step`` and optimizer
    wrapper (so SAM, AMP, gradient accumulation and DDP behave as in
    training; under DDP the losses are averaged over processes, so every
    process picks the same value). It then restores the model weights and
    buffers, the optimizer wrapper state and the random-number generators,
    and scales the whole LR schedule so that its peak (OneCycle's
    ``eta_max``, else the base LR) equals the estimate. Per-group LR ratios
    are kept. The curve is logged and written to
    ``<work_dir>/lr_estimation.json``.

    Args:
        min_lr (float): First LR of the test. Defaults to 4e-3 (authors).
        max_lr (float): Last LR of the test. Defaults to 0.03 (authors).
        num_iters (int): Updates of the test. Defaults to 100.
        smooth_f (float): Weight of a new loss in the running average.
            Defaults to 0.05.
        diverge_th (float): Stop when the smoothed loss exceeds this many
            times its best. Defaults to 5.
        skip_start (int): Points dropped at the start. Defaults to 10.
        skip_end (int): Points dropped at the end. Defaults to 5.
        divisor (float): The picked LR is divided by it. Defaults to 1.
        seed (int): Seed of the test (data augmentation, dropout); the
            generators are restored afterwards. Defaults to 0.
        enabled (bool): Switch. Defaults to True.
        enabled_by (str, optional): Name of a top-level key of the runner's
            config whose value replaces ``enabled`` when training starts, so
            that the test is switched on by a name, also from the command line
            (``--cfg-options lr_range_test=True``; a base's variable copied
            into ``enabled`` would not see that override). Defaults to None.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self,
                 min_lr: float = 4e-3,
                 max_lr: float = 0.03,
                 num_iters: int = 100,
                 smooth_f: float = 0.05,
                 diverge_th: float = 5.0,
                 skip_start: int = 10,
                 skip_end: int = 5,
                 divisor: float = 1.0,
                 seed: int = 0,
                 enabled: bool = True,
                 enabled_by: Optional[str] = None):
        if not (0 < min_lr < max_lr and math.isfinite(max_lr)):
            raise ValueError(f'LREstimationHook: need 0 < min_lr < max_lr, got '
                             f'min_lr={min_lr!r}, max_lr={max_lr!r}')
        if not (isinstance(num_iters, int) and num_iters >= 3):
            raise ValueError(f'LREstimationHook: num_iters must be an int >= 3, '
                             f'got {num_iters!r}')
        if not 0 < smooth_f <= 1:
            raise ValueError(f'LREstimationHook: smooth_f must be in (0, 1], '
                             f'got {smooth_f!r}')
        if not diverge_th > 1:
            raise ValueError(f'LREstimationHook: diverge_th must be > 1, got '
                             f'{diverge_th!r}')
        if skip_start < 0 or skip_end < 0 \
                or skip_start + skip_end + 3 > num_iters:
            raise ValueError(
                f'LREstimationHook: skip_start={skip_start} and '
                f'skip_end={skip_end} leave fewer than 3 of num_iters='
                f'{num_iters} points')
        if not divisor > 0:
            raise ValueError(f'LREstimationHook: divisor must be > 0, got '
                             f'{divisor!r}')
        self.min_lr = float(min_lr)
        self.max_lr = float(max_lr)
        self.num_iters = num_iters
        self.smooth_f = float(smooth_f)
        self.diverge_th = float(diverge_th)
        self.skip_start = skip_start
        self.skip_end = skip_end
        self.divisor = float(divisor)
        self.seed = seed
        self.enabled = enabled
        self.enabled_by = enabled_by
        self.result: Optional[Dict] = None

    def before_train(self, runner) -> None:
        if self.enabled_by is not None:
            if self.enabled_by not in runner.cfg:
                raise KeyError(f'LREstimationHook: enabled_by={self.enabled_by!r}, but the '
                               f'config has no top-level key {self.enabled_by!r}')
            self.enabled = bool(runner.cfg[self.enabled_by])
        if not self.enabled:
            return
        if runner.iter > 0:
            runner.logger.info(
                f'LREstimationHook: resumed at iteration {runner.iter}; the LR '
                'schedule comes from the checkpoint, no range test.')
            return
        optim_wrapper = runner.optim_wrapper
        if not isinstance(optim_wrapper, OptimWrapper):
            raise TypeError('LREstimationHook supports a single optimizer '
                            f'wrapper, got {type(optim_wrapper).__name__}')
        schedulers = _lr_schedulers(runner)
        lrs, losses = self.range_test(runner)
        smoothed = smooth_losses(losses, self.smooth_f)
        idx = steepest_descent_lr(lrs[:len(smoothed)], smoothed,
                                  self.skip_start, self.skip_end)
        peaks = peak_lr(optim_wrapper, schedulers)
        result = dict(lrs=lrs[:len(losses)], losses=losses, smoothed=smoothed,
                      rule='steepest descent of the smoothed loss',
                      previous_peak=peaks[0])
        if idx is None:
            runner.logger.warning(
                f'LREstimationHook: the loss diverged after {len(losses)} of '
                f'{self.num_iters} iterations, too early to pick an LR; '
                f'keeping the configured peak LR {peaks[0]:.4g}. Lower max_lr.')
            result.update(index=None, lr=peaks[0])
        else:
            lr = lrs[idx] / self.divisor
            scale_lr_schedule(optim_wrapper, schedulers, lr / peaks[0])
            result.update(index=idx, lr=lr)
            runner.logger.info(
                f'LREstimationHook: range test {self.min_lr:.3g}..'
                f'{self.max_lr:.3g} over {len(losses)} iterations; steepest '
                f'descent of the smoothed loss at LR {lrs[idx]:.4g} (step '
                f'{idx}); peak LR set to {lr:.4g} (configured {peaks[0]:.4g}).')
        self.result = result
        runner.message_hub.update_info('lr_estimation', dict(
            lr=result['lr'], index=result['index']))
        if is_main_process():
            with open(osp.join(runner.work_dir, 'lr_estimation.json'), 'w') as f:
                json.dump(result, f, indent=1)

    def range_test(self, runner):
        """Run the test; return the tried LRs and the (process-mean) losses.

        The model, the optimizer wrapper and the RNG states are restored.
        """
        model = runner.model
        module = model.module if is_model_wrapper(model) else model
        optim_wrapper = runner.optim_wrapper
        saved_model = {k: v.detach().clone()
                       for k, v in module.state_dict().items()}
        saved_optim = copy.deepcopy(optim_wrapper.state_dict())
        counts = (optim_wrapper._inner_count, optim_wrapper._max_counts,
                  optim_wrapper._remainder_counts)
        rng = _get_rng_state()
        peaks = peak_lr(optim_wrapper, _lr_schedulers(runner))
        ratios = [p / peaks[0] for p in peaks]
        lrs = exponential_lrs(self.min_lr, self.max_lr, self.num_iters)
        accumulate = optim_wrapper._accumulative_counts
        losses: List[float] = []
        try:
            _seed_everything(self.seed)
            optim_wrapper._inner_count = 0
            optim_wrapper._max_counts = self.num_iters * accumulate
            optim_wrapper._remainder_counts = 0
            optim_wrapper.zero_grad()
            model.train()
            batches = _cycle(runner.train_loop.dataloader)
            best, current = math.inf, None
            for lr in lrs:
                for group, ratio in zip(optim_wrapper.param_groups, ratios):
                    group['lr'] = lr * ratio
                loss = 0.0
                try:
                    for _ in range(accumulate):
                        log_vars = model.train_step(
                            next(batches), optim_wrapper=optim_wrapper)
                        loss += float(log_vars['loss']) / accumulate
                except FloatingPointError:  # SAM refuses a non-finite gradient
                    if get_world_size() > 1:
                        # other processes may wait in a collective: stop all
                        runner.logger.error(
                            f'LREstimationHook: non-finite gradient at LR '
                            f'{lr:.4g}; lower max_lr or diverge_th.')
                        raise
                    loss = math.nan
                loss = _mean_over_processes(loss, module)
                losses.append(loss)
                current = loss if current is None else (
                    self.smooth_f * loss + (1 - self.smooth_f) * current)
                if not math.isfinite(current) or current > self.diverge_th * best:
                    break
                best = min(best, current)
        finally:
            optim_wrapper.zero_grad()
            module.load_state_dict(saved_model)
            optim_wrapper.load_state_dict(saved_optim)
            (optim_wrapper._inner_count, optim_wrapper._max_counts,
             optim_wrapper._remainder_counts) = counts
            _set_rng_state(rng)
        if losses and not math.isfinite(losses[-1]):
            losses = losses[:-1]
        return lrs, losses


def _cycle(dataloader):
    while True:
        yield from dataloader


def _mean_over_processes(value: float, module: torch.nn.Module) -> float:
    if get_world_size() == 1:
        return value
    device = next(module.parameters()).device
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    all_reduce(tensor, op='mean')
    return float(tensor.item())


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def _get_rng_state() -> dict:
    state = dict(python=random.getstate(), numpy=np.random.get_state(),
                 torch=torch.get_rng_state())
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    if 'cuda' in state:
        torch.cuda.set_rng_state_all(state['cuda'])
