"""Asymmetric angular margin (AAM) loss for multilabel classification.

Prokofiev & Sovrasov, "Combining Metric Learning and Attention Heads For
Accurate and Efficient Multilabel Image Classification", 2022, eq. 1
(https://arxiv.org/abs/2209.06585).
"""
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.losses.utils import weight_reduce_loss
from mmpretrain.registry import MODELS

_REDUCTIONS = ('none', 'mean', 'sum')
#: How far past [-1, 1] a cosine may be (rounding of a half-precision matmul of unit vectors).
COSINE_TOLERANCE = 1e-2


def check_cosine_range(cosine: torch.Tensor) -> None:
    """Raise unless every score is a cosine (in [-1, 1] up to
    :data:`COSINE_TOLERANCE`): logits of a plain head are refused.

    Args:
        cosine (Tensor): The scores given to the loss.

    Raises:
        ValueError: Naming the largest ``|score|`` and the fix.
    """
    if not cosine.numel():
        return
    largest = cosine.detach().abs().max()
    if bool(largest > 1 + COSINE_TOLERANCE):
        raise ValueError(
            f'AAMLoss: scores outside [-1, 1] (largest |score| {largest.item():.4g}): AAMLoss '
            'takes the cosine scores of a normalised head, not logits. Use head '
            "type='MultiLabelCosineClsHead', or MLDecoderHead / Query2LabelHead / MLGCNHead "
            'with normalized=True, instead of a head that outputs logits (e.g. '
            "MultiLabelLinearClsHead, CSRAClsHead); or use a logit loss such as "
            "dict(type='AsymmetricLoss') with that head.")


def _safe_pow(x: torch.Tensor, gamma: float) -> torch.Tensor:
    """``x ** gamma`` for ``x >= 0`` with a finite gradient at ``x = 0``
    (``pow`` alone gives ``0 * inf`` there when ``gamma < 1``)."""
    positive = x > 0
    return torch.where(positive, x.clamp(min=1e-12).pow(gamma), torch.zeros_like(x))


def aam_loss(cosine: torch.Tensor,
             target: torch.Tensor,
             weight: Optional[torch.Tensor] = None,
             s: float = 23.0,
             m: float = 0.0,
             k: float = 0.7,
             gamma_pos: float = 0.0,
             gamma_neg: float = 0.0,
             clip: float = 0.0,
             reduction: str = 'mean',
             avg_factor: Optional[float] = None) -> torch.Tensor:
    r"""Asymmetric angular margin loss (eq. 1 of the paper).

    With :math:`p_+ = \sigma(s(\cos\theta_j - m))` and
    :math:`p_- = \sigma(-s(\cos\theta_j + m))`, per class :math:`j`:

    .. math::

        L_j = -\frac{k}{s} y_j p_-^{\gamma_{pos}} \log p_+
              -\frac{1-k}{s} (1 - y_j) p_+^{\gamma_{neg}} \log p_-

    With ``clip > 0`` (ASL's probability shift) only the negative term
    changes: :math:`\log p_-` becomes :math:`\log\min(p_- + clip, 1)` and
    its weight :math:`\max(p_+ - clip, 0)^{\gamma_{neg}}`; ``clip = 0`` is
    eq. 1 exactly.

    Gamma naming follows ASL (``gamma_neg`` focuses the negatives,
    ``gamma_pos`` the positives); the paper prints the exponents crossed.

    ``log p+`` and ``log p-`` use ``logsigmoid`` and the focusing weights
    ``exp(gamma * logsigmoid(.))``, so the loss and its gradient stay finite
    for large ``s`` and ``cos = +-1``. It is computed in float32 whatever the
    input dtype is at least float32 (fp16/bf16 inputs, e.g. under autocast,
    are upcast; float64 stays float64).

    Args:
        cosine (Tensor): Cosine scores ``[N, K]`` in [-1, 1].
        target (Tensor): ``[N, K]``: 1 positive, 0 negative, -1 ignored
            (contributes nothing, e.g. VOC "difficult"); values in [0, 1]
            are soft targets (mixup / cutmix) weighting both terms.
        weight (Tensor, optional): Sample-wise weight ``[N]`` or
            element-wise weight ``[N, K]``.
        s (float): Scale. Defaults to 23.0.
        m (float): Angular margin. Defaults to 0.0.
        k (float): Positive weight; negatives get ``1 - k``. Defaults to 0.7.
        gamma_pos (float): Focusing exponent of the positives. Defaults to 0.
        gamma_neg (float): Focusing exponent of the negatives. Defaults to 0.
        clip (float): Probability shift of the negatives. Defaults to 0.
        reduction (str): 'none', 'mean' or 'sum'. 'mean' sums over classes
            and averages over samples (``avg_factor``, default ``N``), as
            MMPretrain's ``MultiLabelClsHead`` + ``AsymmetricLoss`` do.
        avg_factor (float, optional): Divisor of the 'mean' reduction.

    Returns:
        Tensor: The loss (``[N, K]`` for 'none', else a scalar), float32
        (float64 for float64 inputs).

    Raises:
        ValueError: Scores outside [-1, 1] (logits, :func:`check_cosine_range`)
            or shapes that differ.
    """
    if cosine.shape != target.shape:
        raise ValueError(f'AAMLoss: cosine scores {tuple(cosine.shape)} and target '
                         f'{tuple(target.shape)} must have the same shape [N, K]')
    check_cosine_range(cosine)
    cos = cosine if cosine.dtype == torch.float64 else cosine.float()
    target = target.to(cos.dtype)
    valid = target >= 0
    if bool(((target < 0) & (target != -1)).any()) or bool((target > 1).any()):
        raise ValueError('AAMLoss: target values must be -1 (ignored) or in [0, 1]; '
                         f'got min {target.min().item()}, max {target.max().item()}')
    y = target.clamp(min=0)

    log_p_pos = F.logsigmoid(s * (cos - m))
    log_p_neg = F.logsigmoid(-s * (cos + m))

    pos = -log_p_pos
    if gamma_pos > 0:
        pos = pos * torch.exp(gamma_pos * log_p_neg)
    if clip > 0:
        neg = -torch.log((log_p_neg.exp() + clip).clamp(max=1.0))
        if gamma_neg > 0:
            neg = neg * _safe_pow((log_p_pos.exp() - clip).clamp(min=0), gamma_neg)
    else:
        neg = -log_p_neg
        if gamma_neg > 0:
            neg = neg * torch.exp(gamma_neg * log_p_pos)

    loss = (k / s) * y * pos + ((1 - k) / s) * (1 - y) * neg
    # where() (not a product) so that ignored entries get an exact zero gradient.
    loss = torch.where(valid, loss, torch.zeros_like(loss))

    if weight is not None:
        weight = weight.to(cos.dtype)
        if weight.dim() == 1:
            weight = weight.reshape(-1, 1)
    if reduction == 'mean' and avg_factor is None:
        avg_factor = cos.size(0)
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


@MODELS.register_module()
class AAMLoss(nn.Module):
    r"""Asymmetric angular margin loss (AAM), eq. 1 of `Prokofiev & Sovrasov
    2022 <https://arxiv.org/abs/2209.06585>`_.

    Takes cosine scores (a normalised head: ``MultiLabelCosineClsHead`` or
    ``MLDecoderHead(normalized=True)``), not logits. See :func:`aam_loss` for
    the formula. The heads read ``s`` from this loss to report
    ``pred_score = sigmoid(s * cos)``, so a 0.5 threshold means ``cos >= 0``.
    Stateless: the result depends only on the arguments of ``forward``.

    Args:
        s (float): Scale (paper: 17-25). Defaults to 23.0 (COCO).
        m (float): Angular margin (paper: 0). Defaults to 0.0.
        k (float): Positive/negative weighting in [0, 1] (paper: 0.7).
            Defaults to 0.7.
        gamma_pos (float): ASL focusing exponent of the positives.
            Defaults to 0.0.
        gamma_neg (float): ASL focusing exponent of the negatives.
            Defaults to 0.0.
        clip (float): ASL probability shift on the negatives in [0, 1);
            0 disables it (eq. 1). Defaults to 0.0.
        reduction (str): 'none', 'mean' (sum over classes, mean over
            samples) or 'sum'. Defaults to 'mean'.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """
    #: Heads check this to refuse feeding logits into a cosine loss.
    expects_cosine = True

    def __init__(self,
                 s: float = 23.0,
                 m: float = 0.0,
                 k: float = 0.7,
                 gamma_pos: float = 0.0,
                 gamma_neg: float = 0.0,
                 clip: float = 0.0,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0):
        super().__init__()
        checks = dict(s=(s, lambda v: v > 0), m=(m, lambda v: True),
                      k=(k, lambda v: 0 <= v <= 1), gamma_pos=(gamma_pos, lambda v: v >= 0),
                      gamma_neg=(gamma_neg, lambda v: v >= 0), clip=(clip, lambda v: 0 <= v < 1),
                      loss_weight=(loss_weight, lambda v: True))
        for name, (value, ok) in checks.items():
            if not (isinstance(value, (int, float)) and math.isfinite(value) and ok(value)):
                raise ValueError(f'AAMLoss: invalid {name}={value!r}')
        if reduction not in _REDUCTIONS:
            raise ValueError(f'AAMLoss: reduction={reduction!r} not in {_REDUCTIONS}')
        self.s = float(s)
        self.m = float(m)
        self.k = float(k)
        self.gamma_pos = float(gamma_pos)
        self.gamma_neg = float(gamma_neg)
        self.clip = float(clip)
        self.reduction = reduction
        self.loss_weight = float(loss_weight)

    def forward(self,
                cosine: torch.Tensor,
                target: torch.Tensor,
                weight: Optional[torch.Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> torch.Tensor:
        """Compute the loss (same call as MMPretrain's ``AsymmetricLoss``).

        Args:
            cosine (Tensor): Cosine scores ``[N, K]``.
            target (Tensor): Targets ``[N, K]`` (1 / 0 / -1 ignored / soft).
            weight (Tensor, optional): ``[N]`` or ``[N, K]`` weights.
            avg_factor (float, optional): Divisor of the 'mean' reduction
                (the head passes ``N``).
            reduction_override (str, optional): Overrides ``reduction``.
        """
        if reduction_override not in (None, ) + _REDUCTIONS:
            raise ValueError(f'AAMLoss: reduction_override={reduction_override!r}')
        reduction = reduction_override or self.reduction
        return self.loss_weight * aam_loss(
            cosine, target, weight, s=self.s, m=self.m, k=self.k,
            gamma_pos=self.gamma_pos, gamma_neg=self.gamma_neg, clip=self.clip,
            reduction=reduction, avg_factor=avg_factor)

    def extra_repr(self) -> str:
        return (f's={self.s}, m={self.m}, k={self.k}, gamma_pos={self.gamma_pos}, '
                f'gamma_neg={self.gamma_neg}, clip={self.clip}, reduction={self.reduction!r}')
