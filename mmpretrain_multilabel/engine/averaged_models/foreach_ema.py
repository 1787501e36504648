"""EMA with momentum annealing, updated in one fused call per step."""
import torch
from mmengine.model import MomentumAnnealingEMA
from mmpretrain.registry import MODELS
from torch import nn


@MODELS.register_module()
class ForeachMomentumAnnealingEMA(MomentumAnnealingEMA):
    """MMEngine's ``MomentumAnnealingEMA`` with a fused update.

    The same average, momentum ``max(momentum, gamma / (gamma + step))`` (the
    EMA warm-up of timm's ``ModelEmaV3``), and the same checkpoint keys; the
    update of each step is one ``torch._foreach_lerp_`` over all floating
    tensors instead of a Python loop that calls ``lerp_`` and reads the step
    counter once per tensor. It is what makes the recipe's EMA cheap for the
    transformer heads (hundreds of tensors). Use it as
    ``dict(type='EMAHook', ema_type='ForeachMomentumAnnealingEMA', ...)``;
    the arguments are those of ``MomentumAnnealingEMA``.
    """

    def update_parameters(self, model: nn.Module) -> None:
        """Average ``model``'s parameters (and buffers, with
        ``update_buffers``) into this model's.

        Args:
            model (nn.Module): The model whose parameters are averaged.
        """
        if self.steps == 0 or self.steps % self.interval:  # copy, or skip: as MMEngine
            super().update_parameters(model)
            return
        source = model.state_dict() if self.update_buffers else dict(model.named_parameters())
        averaged = [(p.data, source[k].data.to(p.device))
                    for k, p in self.avg_parameters.items() if p.dtype.is_floating_point]
        momentum = max(self.momentum, self.gamma / (self.gamma + self.steps.item()))
        if averaged:
            targets, sources = zip(*averaged)
            torch._foreach_lerp_(list(targets), list(sources), momentum)
        if not self.update_buffers:
            for b_avg, b_src in zip(self.module.buffers(), model.buffers()):
                b_avg.data.copy_(b_src.data.to(b_avg.device))
        self.steps += 1
