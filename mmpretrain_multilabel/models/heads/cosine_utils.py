"""Cosine classifiers: the normalisation and score convention shared by heads.

A normalised head outputs ``cos`` (L2-normalised feature . L2-normalised
class weight) to its loss, and reports ``pred_score = sigmoid(s * cos)``.
The scale ``s`` has one source of truth: the loss's ``s`` attribute (e.g.
``AAMLoss(s=23)``); the head reads it, so training and scoring cannot
disagree. ``sigmoid(s * cos)`` makes a 0.5 threshold mean ``cos >= 0`` and
ranks classes as ``cos`` does, so thresholds and mAP mean the same as for a
plain sigmoid head. Per-class thresholds (a float, a list of K floats, or a
thresholds JSON file) work for normalised and plain heads alike.
"""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn.functional as F

from mmpretrain_multilabel.utils.thresholds import load_thresholds

Thr = Union[None, float, Sequence[float], str]


def l2_normalize(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """L2-normalise ``x`` along ``dim`` in float32 (fp16 would underflow the
    norm's epsilon)."""
    return F.normalize(x.float(), p=2.0, dim=dim, eps=1e-6)


def cosine_linear(feats: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Cosine between features ``[..., D]`` and class weights ``[K, D]``."""
    return F.linear(l2_normalize(feats), l2_normalize(weight))


def cosine_scores(cosine: torch.Tensor, scale: float) -> torch.Tensor:
    """The reported score of a cosine head: ``sigmoid(scale * cos)``."""
    return torch.sigmoid(scale * cosine)


def resolve_thr(thr: Thr, num_classes: int) -> Union[None, float, List[float]]:
    """``thr`` as ``None``, one float or K floats (a JSON file's values are
    taken in file order, which ``save_thresholds`` writes in class order)."""
    if thr is None:
        return None
    return load_thresholds(thr, num_classes=num_classes)


#: The loss of a head built without one: MMPretrain's multilabel BCE.
DEFAULT_LOSS = dict(type='CrossEntropyLoss', use_sigmoid=True)


def cls_head_kwargs(num_classes: int, loss: Optional[dict], thr: Thr, topk: Optional[int],
                    init_cfg: Optional[dict], default_loss: Optional[dict] = None) -> dict:
    """``MultiLabelClsHead.__init__`` arguments of a head: its loss (else
    ``default_loss``, else :data:`DEFAULT_LOSS`), ``thr`` read by
    :func:`resolve_thr`, ``topk`` and ``init_cfg``."""
    if loss is None:
        loss = dict(default_loss or DEFAULT_LOSS)
    return dict(loss=loss, thr=resolve_thr(thr, num_classes), topk=topk, init_cfg=init_cfg)


class CosineScoreMixin:
    """Score convention and thresholds for ``MultiLabelClsHead`` subclasses.

    Put it before ``MultiLabelClsHead`` in the bases and call
    :meth:`_init_scores` after ``MultiLabelClsHead.__init__``. A normalised
    head reports ``sigmoid(s * cos)`` with ``s`` read from the loss; a plain
    head reports ``sigmoid(logits)`` as MMPretrain does. ``thr``/``topk``
    keep MMPretrain's meaning; a per-class ``thr`` becomes a non-persistent
    buffer so it follows the model's device. The loss takes float32 scores
    (finite under fp16 autocast).
    """

    def _init_scores(self, normalized: bool) -> None:
        loss_name = type(self.loss_module).__name__
        head_name = type(self).__name__
        self.normalized = normalized
        if normalized:
            s = getattr(self.loss_module, 's', None)
            if not isinstance(s, (int, float)) or not s > 0:
                raise ValueError(
                    f'{head_name} outputs cosine scores, but its loss {loss_name} has no '
                    'positive scale `s` to report sigmoid(s * cos) with; use a cosine loss '
                    "such as dict(type='AAMLoss', s=...)")
        elif getattr(self.loss_module, 'expects_cosine', False):
            raise ValueError(f'{loss_name} expects cosine scores but {head_name} is not '
                             'normalised; set normalized=True')
        if isinstance(self.thr, list):
            values = self.thr
            del self.thr
            self.register_buffer('thr', torch.tensor(values), persistent=False)

    @property
    def scale(self) -> float:
        """``s`` of ``sigmoid(s * cos)`` (the loss's), or 1 for a plain head."""
        return float(self.loss_module.s) if self.normalized else 1.0

    def _get_loss(self, cls_score: torch.Tensor, data_samples: list, **kwargs) -> dict:
        """MMPretrain's loss on float32 scores: under fp16 autocast the head's
        logits come in half precision, where a loss's ``log(clamp(p, 1e-8))``
        (MMPretrain's ``AsymmetricLoss``) underflows to ``log 0``."""
        return super()._get_loss(cls_score.float(), data_samples, **kwargs)

    def _get_predictions(self, cls_score: torch.Tensor, data_samples: Optional[list]):
        # MMPretrain's post-processing applies sigmoid and thr/topk to s*cos.
        if self.normalized:
            cls_score = self.scale * cls_score
        return super()._get_predictions(cls_score, data_samples)
