"""Weight-space interpolation between a model's start and its fine-tuned
weights (WiSE-FT: Wortsman et al., "Robust fine-tuning of zero-shot models",
CVPR 2022, https://arxiv.org/abs/2109.01903).

``(1 - alpha) * start + alpha * end`` for every floating-point entry of the
state (parameters and buffers such as batch-norm statistics); integer buffers
(``num_batches_tracked``) keep the fine-tuned value. ``alpha = 0`` is the
start, ``alpha = 1`` the fine-tuned model.
"""
from typing import Dict

import torch
from torch import nn


def float_state(module: nn.Module) -> Dict[str, torch.Tensor]:
    """A detached copy of ``module``'s floating-point state entries."""
    return {k: v.detach().clone() for k, v in module.state_dict().items()
            if v.is_floating_point()}


@torch.no_grad()
def interpolate_weights_(module: nn.Module, start: Dict[str, torch.Tensor],
                         alpha: float) -> nn.Module:
    """Set ``module``'s weights (in place) to ``(1 - alpha) * start + alpha *``
    its current ones.

    Args:
        module (nn.Module): The fine-tuned model.
        start (dict): :func:`float_state` of the same model at its start.
        alpha (float): Weight of the fine-tuned model, in ``[0, 1]``.

    Returns:
        nn.Module: ``module``.

    Raises:
        ValueError: ``alpha`` outside ``[0, 1]``, or a floating-point entry
            of ``module`` that ``start`` does not have (or has in another
            shape).
    """
    if not 0. <= alpha <= 1.:
        raise ValueError(f'interpolation weight alpha must be in [0, 1], got {alpha}')
    state = {k: v for k, v in module.state_dict().items() if v.is_floating_point()}
    wrong = [k for k, v in state.items() if k not in start or start[k].shape != v.shape]
    if wrong:
        raise ValueError(f'the start state does not match the model at {wrong[:3]} '
                         f'({len(wrong)} entries)')
    for key, value in state.items():
        value.copy_(torch.lerp(start[key].to(value), value, alpha))
    return module
