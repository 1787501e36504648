"""Normalised (cosine) linear multilabel head for pooled features."""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmpretrain.models.heads import MultiLabelClsHead
from mmpretrain.registry import MODELS

from ..utils.arg_checks import check_channels, check_ints
from .cosine_utils import CosineScoreMixin, Thr, cls_head_kwargs, cosine_linear


@MODELS.register_module()
class MultiLabelCosineClsHead(CosineScoreMixin, MultiLabelClsHead):
    """Cosine classifier for multilabel tasks (the paper's "GAP + normalised
    linear classifier", trained with AAM).

    ``forward`` returns ``cos = <v / |v|, W_j / |W_j|>`` ``[N, K]`` for the
    loss; ``predict`` reports ``pred_score = sigmoid(s * cos)`` with ``s``
    taken from the loss (see :mod:`.cosine_utils`). See `Prokofiev & Sovrasov
    2022 <https://arxiv.org/abs/2209.06585>`_, Sec. 3.4.

    Args:
        num_classes (int): Number of classes K.
        in_channels (int): Channels of the pooled feature (e.g. 1280 for
            EfficientNetV2-s after ``GlobalAveragePooling``).
        loss (dict, optional): A cosine loss with a scale ``s``. None means
            ``dict(type='AAMLoss')``.
        thr (float | list[float] | str, optional): Score threshold(s): one
            value, K values, or a thresholds JSON file. Defaults to None
            (0.5 unless ``topk`` is set), as in MMPretrain.
        topk (int, optional): Predict the top-k classes when ``thr`` is None.
        init_cfg (dict, optional): Init config; None keeps PyTorch's default
            ``nn.Linear`` init (the scale of W does not change the cosine).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 loss: Optional[Dict] = None,
                 thr: Thr = None,
                 topk: Optional[int] = None,
                 init_cfg: Optional[dict] = None):
        check_ints('MultiLabelCosineClsHead', num_classes=num_classes)
        super().__init__(**cls_head_kwargs(num_classes, loss, thr, topk, init_cfg,
                                           default_loss=dict(type='AAMLoss')))
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.fc = nn.Linear(in_channels, num_classes, bias=False)
        self._init_scores(normalized=True)

    def pre_logits(self, feats: Union[torch.Tensor, Sequence[torch.Tensor]]) -> torch.Tensor:
        """The last stage's pooled feature ``[N, C]``.

        Raises:
            ValueError: Not pooled, or ``C`` is not ``in_channels`` (naming both).
        """
        x = feats if isinstance(feats, torch.Tensor) else feats[-1]
        if x.dim() != 2:
            raise ValueError(f'MultiLabelCosineClsHead expects pooled features [N, C], got '
                             f'{tuple(x.shape)}; add neck=dict(type="GlobalAveragePooling")')
        check_channels('MultiLabelCosineClsHead', x, self.in_channels)
        return x

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Cosine scores ``[N, K]``."""
        return cosine_linear(self.pre_logits(feats), self.fc.weight)
