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


def run_cycle(scheduler_type, wrapper_type='OptimWrapper', eta_max=0.1, steps=10, lr=None):
    """LRs of (head, backbone) at each step; the optimizer's lr is ``lr``, else
    ``eta_max``; ``eta_max=None`` leaves it out of the scheduler's config."""
    init_default_scope('mmpretrain')  # the plugin's wrappers live in mmpretrain's registry
    model = Net()
    wrapper = build_optim_wrapper(model, dict(
        type=wrapper_type, optimizer=dict(type='SGD', lr=lr or eta_max, momentum=0.9),
        paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=0.3)})))
    peak = {} if eta_max is None else dict(eta_max=eta_max)
    scheduler = PARAM_SCHEDULERS.build(dict(
        type=scheduler_type, optimizer=wrapper, total_steps=steps, pct_start=0.3,
        by_epoch=False, **peak))
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


@pytest.mark.parametrize('wrapper_type', ['OptimWrapper', 'SAMOptimWrapper'])
def test_without_eta_max_the_optimizer_lr_is_the_peak(wrapper_type):
    default = run_cycle('ScaledOneCycleLR', wrapper_type, eta_max=None, lr=0.02)
    assert default == run_cycle('ScaledOneCycleLR', wrapper_type, eta_max=0.02)
    assert max(b for _, b in default) == pytest.approx(0.02, rel=1e-6)
    assert max(h for h, _ in default) == pytest.approx(0.3 * 0.02, rel=1e-6)  # lr_mult kept
    # an explicit eta_max still wins over the optimizer's lr
    other = run_cycle('ScaledOneCycleLR', wrapper_type, eta_max=0.05, lr=0.02)
    assert max(b for _, b in other) == pytest.approx(0.05, rel=1e-6)


def test_without_eta_max_through_the_epoch_to_iteration_conversion():
    """The path the recipe takes (``convert_to_iter_based=True``): the runner calls
    ``build_iter_from_epoch``, which passes no ``eta_max`` on."""
    wrapper = build_optim_wrapper(Net(), dict(
        optimizer=dict(type='SGD', lr=0.007),
        paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=10.0)})))
    scheduler = PARAM_SCHEDULERS.get('ScaledOneCycleLR').build_iter_from_epoch(
        wrapper, total_steps=3, by_epoch=True, epoch_length=4, div_factor=100.)
    assert scheduler.total_steps == 12 and scheduler.eta_max == 0.007
    assert sorted({round(g['max_lr'], 9) for g in wrapper.param_groups}) == [0.007, 0.07]
    assert {round(g['initial_lr'], 9) for g in wrapper.param_groups} == {7e-5, 7e-4}


def test_list_eta_max_is_used_as_given():
    model = Net()
    wrapper = build_optim_wrapper(model, dict(
        optimizer=dict(type='SGD', lr=0.1),
        paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=0.3)})))
    peaks = [0.05] * len(wrapper.param_groups)
    PARAM_SCHEDULERS.build(dict(type='ScaledOneCycleLR', optimizer=wrapper, eta_max=peaks,
                                total_steps=4, by_epoch=False))
    assert [g['max_lr'] for g in wrapper.param_groups] == peaks
