"""The authors' loss reduction: a sum over the batch, not a per-sample mean.

The paper's learning rates (SGD 0.005-0.009 for AAM, 1e-4 for the ASL rows;
Prokofiev & Sovrasov 2022, https://arxiv.org/abs/2209.06585, Sec. 4.2) belong
to losses summed over the whole batch: the authors' ``AMBinaryLoss``
(deep-object-reid, ``torchreid/losses/asl.py``) and ASL's ``AsymmetricLoss``
(https://github.com/Alibaba-MIIL/ASL) both return ``-loss.sum()``.
MMPretrain's ``MultiLabelClsHead`` averages over the samples instead
(``avg_factor=N``), so plain SGD (and SAM over it) with the paper's LR takes a
step ``N`` times smaller than the authors' did. Weight decay is not scaled by
the loss, so rescaling the LR alone does not reproduce the step.
"""
from typing import Optional

import torch
import torch.nn as nn
from mmpretrain.registry import MODELS


@MODELS.register_module()
class BatchSumLoss(nn.Module):
    """Wrap a loss so that the head's batch mean becomes a batch sum.

    Any MMPretrain-style loss taking ``avg_factor`` (``AAMLoss``,
    ``AsymmetricLoss``, ``CrossEntropyLoss(use_sigmoid=True)``, ...) is called
    with ``avg_factor=1`` instead of the number of samples the head passes, so
    a 'mean' reduction sums over samples and classes: one SGD step equals the
    authors' step for the same learning rate and weight decay, whatever the
    batch size. Attributes the heads read from their loss (``s``,
    ``expects_cosine``) are those of the wrapped loss.

    Args:
        loss (dict): Config of the wrapped loss, built in ``MODELS``.
    """

    def __init__(self, loss: dict):
        super().__init__()
        if not isinstance(loss, dict) or 'type' not in loss:
            raise ValueError(f'BatchSumLoss: loss must be a loss config dict, got {loss!r}')
        self.loss = MODELS.build(loss)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(super().__getattr__('loss'), name)

    def forward(self, cls_score: torch.Tensor, target: torch.Tensor,
                avg_factor: Optional[float] = None, **kwargs) -> torch.Tensor:
        """The wrapped loss summed over the batch (``avg_factor`` is ignored).

        Targets of -1 (unverified / ignored labels: OpenImages, VOC difficult) add
        nothing, whatever the wrapped loss does with them: MMPretrain's
        ``AsymmetricLoss`` would count them as negatives with a wrong weight, so
        the loss is taken per entry on the other targets and summed.
        """
        ignored = target < 0
        if not bool(ignored.any()):
            return self.loss(cls_score, target, avg_factor=1.0, **kwargs)
        kwargs['reduction_override'] = 'none'
        per_entry = self.loss(cls_score, target.clamp(min=0), avg_factor=1.0, **kwargs)
        return per_entry.masked_fill(ignored, 0).sum()
