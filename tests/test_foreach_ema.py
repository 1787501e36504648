"""ForeachMomentumAnnealingEMA: MMEngine's MomentumAnnealingEMA, bit for bit,
with one fused update per step."""
import pytest
import torch
from mmengine.model import MomentumAnnealingEMA
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from torch import nn

import mmpretrain_multilabel  # noqa: F401


def net():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.LazyLinear(2))
    model(torch.randn(2, 3, 6, 6))
    model[0].weight.requires_grad_(False)  # a frozen tensor is averaged too, as MMEngine does
    return model


@pytest.mark.parametrize('interval,update_buffers', [(1, False), (2, False), (1, True)])
def test_foreach_ema_equals_mmengine_momentum_annealing_ema(interval, update_buffers):
    model = net()
    init_default_scope('mmpretrain')
    kwargs = dict(momentum=3e-4, gamma=4, interval=interval, update_buffers=update_buffers)
    fused = MODELS.build(dict(type='ForeachMomentumAnnealingEMA', model=model, **kwargs))
    stock = MomentumAnnealingEMA(model, **kwargs)
    for step in range(7):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
        model.train()(torch.randn(2, 3, 6, 6))  # moves the BatchNorm buffers
        fused.update_parameters(model)
        stock.update_parameters(model)
        for (key, a), b in zip(fused.module.state_dict().items(),
                               stock.module.state_dict().values()):
            assert torch.equal(a, b), (step, key)
    assert fused.state_dict().keys() == stock.state_dict().keys()
    assert not torch.equal(fused.module[3].weight, model[3].weight)  # an average, not a copy
