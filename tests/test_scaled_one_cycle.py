"""ScaledOneCycleLR keeps paramwise_cfg LR multipliers through the cycle
(MMEngine's OneCycleLR gives every group the same peak)."""
import pytest
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpretrain.registry import PARAM_SCHEDULERS
from torch import nn

import mmpretrain_multilabel  # noqa: F401


class Net(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(4, 4)
        self.head = nn.Linear(4, 2)


def head_and_backbone_lrs(wrapper, model):
    head = {id(p) for p in model.head.parameters()}
    lrs = {}
    for group in wrapper.param_groups:
        lrs['head' if id(group['params'][0]) in head else 'backbone'] = group['lr']
    return lrs['head'], lrs['backbone']


def run_cycle(scheduler_type, wrapper_type='OptimWrapper', eta_max=0.1, steps=10):
    init_default_scope('mmpretrain')  # the plugin's wrappers live in mmpretrain's registry
    model = Net()
    wrapper = build_optim_wrapper(model, dict(
        type=wrapper_type, optimizer=dict(type='SGD', lr=eta_max, momentum=0.9),
        paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=0.3)})))
    scheduler = PARAM_SCHEDULERS.build(dict(
        type=scheduler_type, optimizer=wrapper, eta_max=eta_max, total_steps=steps,
        pct_start=0.3, by_epoch=False))
    history = []
    for _ in range(steps):
        history.append(head_and_backbone_lrs(wrapper, model))
        scheduler.step()  # the schedule alone: no parameter update needed
    return history


@pytest.mark.parametrize('wrapper_type', ['OptimWrapper', 'SAMOptimWrapper'])
def test_head_keeps_its_lr_multiplier_through_the_cycle(wrapper_type):
    history = run_cycle('ScaledOneCycleLR', wrapper_type)
    for head_lr, backbone_lr in history:
        assert head_lr == pytest.approx(0.3 * backbone_lr)
    backbone = [b for _, b in history]
    assert max(backbone) == pytest.approx(0.1, rel=1e-6)  # the base group peaks at eta_max
    assert backbone[0] == pytest.approx(0.1 / 25) and backbone[-1] < backbone[0]


def test_stock_onecycle_drops_the_multiplier_and_scaled_matches_it_without_one():
    stock = run_cycle('OneCycleLR')
    assert all(head == pytest.approx(backbone) for head, backbone in stock)  # the pitfall
    scaled = run_cycle('ScaledOneCycleLR')
    assert [b for _, b in scaled] == pytest.approx([b for _, b in stock])


def test_list_eta_max_is_used_as_given():
    model = Net()
    wrapper = build_optim_wrapper(model, dict(
        optimizer=dict(type='SGD', lr=0.1),
        paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=0.3)})))
    peaks = [0.05] * len(wrapper.param_groups)
    PARAM_SCHEDULERS.build(dict(type='ScaledOneCycleLR', optimizer=wrapper, eta_max=peaks,
                                total_steps=4, by_epoch=False))
    assert [g['max_lr'] for g in wrapper.param_groups] == peaks
