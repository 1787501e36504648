"""OneCycle learning-rate schedule that keeps per-group LR multipliers."""
from typing import List, Optional, Sequence, Union

from mmengine.optim import OneCycleLR
from mmpretrain.registry import PARAM_SCHEDULERS


def group_peaks(eta_max: float, param_groups: Sequence[dict], base_lr: float) -> List[float]:
    """Peak LR of each parameter group: ``eta_max`` scaled by the group's
    configured LR over the base LR (the ``lr_mult`` of ``paramwise_cfg``).

    A group's configured LR is its ``initial_lr`` when an earlier scheduler
    has already stepped it (MMEngine records it there), else its ``lr``.
    """
    return [eta_max * group.get('initial_lr', group['lr']) / base_lr for group in param_groups]


@PARAM_SCHEDULERS.register_module()
class ScaledOneCycleLR(OneCycleLR):
    """MMEngine's ``OneCycleLR`` that keeps ``paramwise_cfg`` LR multipliers.

    MMEngine's OneCycle gives every parameter group the same peak
    ``eta_max``, which silently undoes ``custom_keys={'head':
    dict(lr_mult=...)}`` and the like. Here a scalar ``eta_max`` is the peak
    of the base LR (the optimizer's ``lr``), and each group peaks at
    ``eta_max * lr_mult``, so the constructor's ratios hold through the whole
    cycle (`Smith & Topin 2017 <https://arxiv.org/abs/1708.07120>`_). Without
    ``eta_max`` the optimizer's ``lr`` is the peak, so a config states its
    learning rate once. Without multipliers it is exactly ``OneCycleLR``; a
    list ``eta_max`` (one value per group) is used as given.

    Args:
        optimizer: The optimizer or optimizer wrapper.
        eta_max (float | list[float], optional): Peak LR of the base LR, or of
            each group. Defaults to None: the optimizer's ``lr``.
        **kwargs: The other arguments of ``mmengine.optim.OneCycleLR``.
    """

    def __init__(self, optimizer, eta_max: Optional[Union[float, Sequence[float]]] = None,
                 **kwargs):
        if eta_max is None:
            eta_max = _base_lr(optimizer)
        super().__init__(optimizer, eta_max=eta_max, **kwargs)

    def _format_param(self, name: str, optimizer, param: Union[float, Sequence[float]]
                      ) -> List[float]:
        if isinstance(param, (list, tuple)):
            return super()._format_param(name, optimizer, param)
        return group_peaks(param, optimizer.param_groups, _base_lr(optimizer))


def _base_lr(optimizer) -> float:
    """The ``lr`` the optimizer (or the one inside a wrapper) was built with."""
    return getattr(optimizer, 'optimizer', optimizer).defaults['lr']
