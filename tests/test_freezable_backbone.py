"""FreezableTIMMBackbone: frozen modules keep their weights and statistics; an
unknown module name is a clear error."""
import pytest
import torch
from mmpretrain.registry import MODELS

import mmpretrain_multilabel  # noqa: F401


def lite0(**kwargs):
    return MODELS.build(dict(type='FreezableTIMMBackbone', model_name='efficientnet_lite0',
                             pretrained=False, **kwargs))


def test_frozen_modules_keep_their_weights_and_statistics():
    backbone = lite0(frozen_modules=['conv_stem', 'bn1', 'blocks.0']).train()
    stem = backbone.timm_model.conv_stem
    assert not any(p.requires_grad for p in stem.parameters())
    assert not backbone.timm_model.bn1.training and backbone.timm_model.blocks[1].training
    before = backbone.timm_model.bn1.running_mean.clone()
    backbone(torch.randn(2, 3, 64, 64))
    assert torch.equal(backbone.timm_model.bn1.running_mean, before)


def test_unknown_frozen_module_is_named():
    with pytest.raises(ValueError, match="'blocks.9'"):
        lite0(frozen_modules=['blocks.9'])
