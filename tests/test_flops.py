"""The FLOPs tool agrees with MMEngine's analyzer figures quoted in
REFERENCE.md (EfficientNetV2-s 11.49 G at 448 and 19.00 G at 576)."""
import pytest
from mmpretrain.registry import MODELS

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.utils.complexity import model_complexity


def _effv2s(head=None, neck=None):
    neck = neck or dict(type='GlobalAveragePooling')
    head = head or dict(type='MultiLabelLinearClsHead', num_classes=80, in_channels=1280)
    return MODELS.build(dict(type='ImageClassifier', backbone=dict(type='EfficientNetV2', arch='s'),
                             neck=neck, head=head))


@pytest.mark.parametrize('side,gflops', [(448, 11.49), (576, 19.00)])
def test_efficientnetv2_s_backbone_flops(side, gflops):
    counts = model_complexity(_effv2s(), (side, side))
    assert counts['backbone'][0] / 1e9 == pytest.approx(gflops, rel=0.02)
    assert counts['total'][0] >= counts['backbone'][0]
    assert set(counts) == {'total', 'backbone', 'neck', 'head'}
