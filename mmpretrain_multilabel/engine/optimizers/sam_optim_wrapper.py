"""Sharpness-aware minimisation (SAM) as an MMEngine optimizer wrapper.

SAM (`Foret et al. 2020 <https://arxiv.org/abs/2010.01412>`_) updates the
weights ``w`` with the gradient taken at ``w + e(w)``, where
``e(w) = rho * g / ||g||`` is the steepest-ascent step of radius ``rho``
(adaptive SAM, `Kwon et al. 2021 <https://arxiv.org/abs/2102.11600>`_:
``e(w) = rho * w^2 g / ||w g||``). Each update needs two forward/backward
passes over the same batch.

How the second pass is driven (no model subclass, no extra model wrapper):
``BaseModel.train_step`` and ``MMDistributedDataParallel.train_step`` both run
the forward as ``model(**data, mode='loss')`` inside
``optim_wrapper.optim_context(model)`` and then call
``optim_wrapper.update_params(loss)``. The wrapper records that one forward
call (a forward pre-hook, active only inside ``optim_context``) and replays
it at ``w + e(w)`` in ``update_params``. So the stock ``ImageClassifier``
with any head trains with SAM on one process and under the stock
``MMDistributedDataParallel``. A custom ``train_step`` may pass the second
pass explicitly instead: ``update_params(loss, closure=fn)``.
"""
import math
from contextlib import ExitStack, contextmanager, nullcontext
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import is_model_wrapper
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmpretrain.registry import OPTIM_WRAPPERS
from torch.nn.modules.batchnorm import _BatchNorm

Grads = List[Optional[torch.Tensor]]


def sam_perturbation(params: List[torch.Tensor],
                     grads: List[torch.Tensor],
                     rho: float,
                     adaptive: bool = False,
                     grad_scale: float = 1.0,
                     eps: float = 1e-12) -> Tuple[List[torch.Tensor], float]:
    """Compute SAM's ascent step ``e(w)`` for each parameter, in place.

    Args:
        params (list[Tensor]): Parameters ``w``.
        grads (list[Tensor]): Their gradients, possibly multiplied by a loss
            scale (see ``grad_scale``). Overwritten by the steps (the
            first-pass gradient is not needed afterwards; this saves a copy).
        rho (float): Radius of the neighbourhood.
        adaptive (bool): Adaptive SAM (element-wise scaling by ``|w|``).
        grad_scale (float): Factor the gradients carry (an AMP loss scale);
            the step does not depend on it, the returned norm is unscaled.
        eps (float): Added to the norm to avoid a division by zero.

    Returns:
        tuple[list[Tensor], float]: The steps ``e(w)`` (the ``grads``
        tensors) and the unscaled gradient norm ``||g||`` (``||w g||`` if
        adaptive); if the norm is not finite, the gradients are left as they
        are and the list is empty.
    """
    if adaptive:
        norms = torch._foreach_norm(
            torch._foreach_mul(torch._foreach_abs(params), grads))
    else:
        norms = torch._foreach_norm(grads)
    norm = float(torch.linalg.vector_norm(torch.stack(norms))) / grad_scale
    if not math.isfinite(norm):
        return [], norm
    if adaptive:  # e = rho * w^2 g / ||w g||
        torch._foreach_mul_(grads, params)
        torch._foreach_mul_(grads, params)
    torch._foreach_mul_(grads, rho / (norm + eps) / grad_scale)
    return grads, norm


def swap_in_perturbed(params: List[torch.Tensor],
                      steps: List[torch.Tensor]) -> List[torch.Tensor]:
    """Make each parameter's data ``w + e(w)``, keeping ``w`` untouched.

    ``w + e`` is written into the step tensors themselves (the first-pass
    gradient buffers, no longer needed) and swapped in as the parameters'
    data; the original data tensors are returned, so that
    :func:`restore_data` puts ``w`` back exactly by swapping them in again.
    No copy of the weights is made: one fused add instead of a clone, an
    add and a copy back.

    Args:
        params (list[Tensor]): Parameters ``w``.
        steps (list[Tensor]): Their steps ``e(w)``, same shapes and dtypes;
            overwritten by ``w + e(w)``.

    Returns:
        list[Tensor]: The original data tensors of ``params``.
    """
    with torch.no_grad():
        torch._foreach_add_(steps, params)  # e + w: bitwise equal to w + e
    saved = [p.data for p in params]
    for p, shifted in zip(params, steps):
        p.data = shifted
    return saved


def restore_data(params: List[torch.Tensor],
                 saved: List[torch.Tensor]) -> None:
    """Swap the data tensors saved by :func:`swap_in_perturbed` back."""
    for p, data in zip(params, saved):
        p.data = data


@contextmanager
def frozen_bn_stats(model: nn.Module):
    """Normalise with batch statistics but leave BN running stats untouched.

    Training-mode batch-norm layers get ``track_running_stats=False`` for the
    duration: PyTorch then normalises with the batch statistics (as in any
    training forward) and updates neither ``running_mean``/``running_var``
    nor ``num_batches_tracked``. Eval-mode layers are left alone.
    """
    layers = [
        m for m in model.modules()
        if isinstance(m, _BatchNorm) and m.training and m.track_running_stats
    ]
    for m in layers:
        m.track_running_stats = False
    try:
        yield
    finally:
        for m in layers:
            m.track_running_stats = True


@OPTIM_WRAPPERS.register_module()
class SAMOptimWrapper(OptimWrapper):
    """Optimizer wrapper for sharpness-aware minimisation.

    One ``update_params`` call per micro-batch:

    1. backward of the given loss: gradient ``g`` at ``w`` (this micro-batch
       only; gradients accumulated by earlier micro-batches are set aside);
    2. ``w <- w + e(w)``; the recorded forward runs again (batch-norm running
       statistics frozen, see below) and its loss is back-propagated into
       the accumulated gradients;
    3. ``w`` is restored exactly (its data tensor is swapped back, neither
       copied nor recomputed by a subtraction);
    4. on update iterations the base step runs as in :class:`OptimWrapper`:
       gradient clipping (on the second-pass gradient), ``optimizer.step()``,
       ``zero_grad()``.

    Batch norm: the running statistics are updated by the first pass only
    (at ``w``); the second pass normalises with its own batch statistics but
    does not touch ``running_mean``, ``running_var`` or
    ``num_batches_tracked``, so the running statistics follow exactly what a
    plain optimizer step would give.

    Gradient accumulation (``accumulative_counts=k``): each micro-batch gets
    its own perturbation from its own gradient, and the second-pass gradients
    are accumulated over ``k`` micro-batches before the base step.

    Distributed data parallel: with ``sync_perturbation=False`` (default) the
    first pass runs under ``no_sync()``, so every process perturbs along its
    own local gradient (Foret et al.'s per-accelerator "m-sharpness", one
    all-reduce per step); with ``True`` the first-pass gradient is averaged
    over processes too, which reproduces one process with the same global
    batch (one more all-reduce). The second pass always synchronises (on
    update iterations).

    Args:
        optimizer (Optimizer): The base optimizer (e.g. SGD).
        rho (float): Neighbourhood radius. Defaults to 0.05.
        adaptive (bool): Adaptive SAM (ASAM). Defaults to False.
        sync_perturbation (bool): Average the first-pass gradient across
            processes before perturbing. Defaults to False.
        eps (float): Added to the gradient norm. Defaults to 1e-12.
        **kwargs: :class:`OptimWrapper` arguments (``accumulative_counts``,
            ``clip_grad``).
    """

    #: Registered type used by ``tools/train.py --amp``.
    amp_variant = 'AmpSAMOptimWrapper'

    def __init__(self,
                 optimizer: torch.optim.Optimizer,
                 rho: float = 0.05,
                 adaptive: bool = False,
                 sync_perturbation: bool = False,
                 eps: float = 1e-12,
                 **kwargs):
        if isinstance(rho, bool) or not isinstance(rho, (int, float)) \
                or not math.isfinite(rho) or rho < 0:
            raise ValueError(
                f'optim_wrapper.rho must be a finite number >= 0, got {rho!r}')
        for name, value in (('adaptive', adaptive),
                            ('sync_perturbation', sync_perturbation)):
            if not isinstance(value, bool):
                raise TypeError(
                    f'optim_wrapper.{name} must be a bool, got {value!r}')
        if not (isinstance(eps, (int, float)) and eps > 0):
            raise ValueError(f'optim_wrapper.eps must be > 0, got {eps!r}')
        super().__init__(optimizer=optimizer, **kwargs)
        self.rho = float(rho)
        self.adaptive = adaptive
        self.sync_perturbation = sync_perturbation
        self.eps = float(eps)
        self._model: Optional[nn.Module] = None
        self._calls: List[Tuple[tuple, dict]] = []

    # ----------------------------------------------------------- contexts --
    def _autocast(self):
        """Mixed-precision context of the forward passes (none in fp32)."""
        return nullcontext()

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Context of the first forward: records the call for the second
        pass, blocks gradient sync as configured, enables autocast (AMP)."""
        # local perturbation: no first-pass all-reduce; global: sync every
        # micro-batch, accumulating or not
        local = not self.sync_perturbation
        self._model = model
        self._calls = []
        handle = model.register_forward_pre_hook(
            self._record_call, with_kwargs=True)
        try:
            with ExitStack() as stack:
                if local and hasattr(model, 'no_sync'):
                    stack.enter_context(model.no_sync())
                stack.enter_context(self._autocast())
                yield
        finally:
            handle.remove()

    def _record_call(self, module, args, kwargs):
        self._calls.append((args, kwargs))

    def _second_pass_context(self, model: nn.Module) -> ExitStack:
        stack = ExitStack()
        if not self.should_sync() and hasattr(model, 'no_sync'):
            stack.enter_context(model.no_sync())  # accumulating: sync later
        stack.enter_context(self._autocast())
        stack.enter_context(frozen_bn_stats(model))
        return stack

    def _recorded_closure(self) -> Callable[[], torch.Tensor]:
        if len(self._calls) != 1:
            raise RuntimeError(
                'SAMOptimWrapper replays the forward call made inside '
                '`optim_wrapper.optim_context(model)` for its second pass, '
                f'but {len(self._calls)} calls of the model were recorded. '
                'The model must run its loss forward exactly once as '
                '`model(...)` inside that context (BaseModel.train_step does),'
                ' or pass `closure=` (a function returning the loss) to '
                '`update_params`.')
        model = self._model
        args, kwargs = self._calls[0]
        module = model.module if is_model_wrapper(model) else model

        def closure():
            losses = model(*args, **kwargs)
            loss, _ = module.parse_losses(losses)
            return loss

        return closure

    # ------------------------------------------------------ AMP interface --
    def _first_backward(self, loss: torch.Tensor) -> None:
        """Backward without counting an iteration."""
        loss.backward()

    def _grad_scale(self) -> float:
        return 1.0

    def _on_nonfinite(self, norm: float) -> None:
        raise FloatingPointError(
            f'SAMOptimWrapper: the gradient norm of the first SAM pass is '
            f'{norm} (iteration {self._inner_count}); the loss or the model '
            'produced non-finite values. Lower the learning rate, enable '
            'gradient clipping or check the data.')

    # -------------------------------------------------------------- update --
    def _params(self) -> List[torch.Tensor]:
        return [p for group in self.optimizer.param_groups
                for p in group['params']]

    def update_params(  # type: ignore[override]
            self,
            loss: torch.Tensor,
            step_kwargs: Optional[Dict] = None,
            zero_kwargs: Optional[Dict] = None,
            closure: Optional[Callable[[], torch.Tensor]] = None) -> None:
        """Run both SAM passes for one micro-batch, then the base step on
        update iterations.

        Args:
            loss (Tensor): Loss of the first forward (at ``w``).
            step_kwargs (dict, optional): Arguments of ``optimizer.step``.
            zero_kwargs (dict, optional): Arguments of
                ``optimizer.zero_grad``.
            closure (callable, optional): Recomputes the loss on the same
                batch; defaults to replaying the forward recorded by
                :meth:`optim_context`.
        """
        if self._model is None:
            raise RuntimeError(
                'SAMOptimWrapper.update_params must follow a forward run '
                'inside `optim_wrapper.optim_context(model)`.')
        model = self._model
        try:
            if closure is None:
                closure = self._recorded_closure()
            self._sam_backward(model, loss, closure)
        finally:
            self._calls = []
        if self.should_update():
            self.step(**(step_kwargs or {}))
            self.zero_grad(**(zero_kwargs or {}))

    def _sam_backward(self, model: nn.Module, loss: torch.Tensor,
                      closure: Callable[[], torch.Tensor]) -> None:
        params = self._params()
        # set the accumulated gradients of earlier micro-batches aside
        accumulated: Grads = [p.grad for p in params]
        for p in params:
            p.grad = None
        self._first_backward(self.scale_loss(loss))
        with_grad = [i for i, p in enumerate(params) if p.grad is not None]
        if not with_grad:
            raise RuntimeError('SAMOptimWrapper: the loss produced no '
                               'gradient for any optimised parameter.')
        perturbed = [params[i] for i in with_grad]
        with torch.no_grad():
            steps, norm = sam_perturbation(
                perturbed, [p.grad for p in perturbed], self.rho,
                self.adaptive, self._grad_scale(), self.eps)
        if not steps:
            self._on_nonfinite(norm)
            # AMP overflow: keep the non-finite gradient so that the loss
            # scaler skips this update and lowers its scale
            for p, acc in zip(params, accumulated):
                if acc is not None and p.grad is not None:
                    p.grad.add_(acc)
                elif acc is not None:
                    p.grad = acc
            self._inner_count += 1
            return
        saved = swap_in_perturbed(perturbed, steps)
        del steps
        for p, acc in zip(params, accumulated):
            p.grad = acc
        try:
            with self._second_pass_context(model):
                second_loss = closure()
            self.backward(self.scale_loss(second_loss))  # counts the iter
        finally:
            restore_data(perturbed, saved)

    # ------------------------------------------------------- checkpoints --
    def state_dict(self) -> dict:
        state = super().state_dict()
        state['sam'] = dict(rho=self.rho, adaptive=self.adaptive)
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        sam = state_dict.pop('sam', None)
        if sam is not None and (sam.get('rho') != self.rho
                                or sam.get('adaptive') != self.adaptive):
            from mmengine.logging import print_log
            print_log(
                f'SAMOptimWrapper: the checkpoint was trained with {sam}, the '
                f'config sets rho={self.rho}, adaptive={self.adaptive}; the '
                'config values are used.', logger='current', level=30)
        super().load_state_dict(state_dict)

    def __repr__(self) -> str:
        return (super().__repr__() + f'rho: {self.rho}\nadaptive: '
                f'{self.adaptive}\nsync_perturbation: '
                f'{self.sync_perturbation}\n')


@OPTIM_WRAPPERS.register_module()
class AmpSAMOptimWrapper(SAMOptimWrapper, AmpOptimWrapper):
    """SAM with automatic mixed precision (selected by ``--amp``).

    Both passes run under autocast and back-propagate the scaled loss. The
    perturbation uses the unscaled gradient norm (the first-pass gradient is
    divided by the current scale; ``GradScaler.unscale_`` is not called, so
    it still runs at most once per update, in ``step``). If the first-pass
    gradient overflows, the second pass is skipped and the non-finite
    gradient is left for the scaler, which skips the update and lowers the
    scale, as plain AMP does.

    Args:
        optimizer (Optimizer): The base optimizer.
        **kwargs: :class:`SAMOptimWrapper` arguments and
            :class:`~mmengine.optim.AmpOptimWrapper` arguments
            (``loss_scale``, ``dtype``).
    """

    amp_variant = 'AmpSAMOptimWrapper'

    def _autocast(self):
        from mmengine.runner.amp import autocast
        return autocast(dtype=self.cast_dtype)

    def _first_backward(self, loss: torch.Tensor) -> None:
        self.loss_scaler.scale(loss).backward()

    def _grad_scale(self) -> float:
        return float(self.loss_scaler.get_scale())

    def _on_nonfinite(self, norm: float) -> None:
        pass  # the scaler skips the step
