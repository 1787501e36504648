"""LREstimationHook: the pick rule on synthetic curves, the range test leaves
the model, optimizer and random state untouched, is reproducible, sets the
OneCycle peak; a run with it equals a run configured with the found LR."""
import copy
import json
import math
import random

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmpretrain.registry import HOOKS

from mmpretrain_multilabel.engine import (
    LREstimationHook,
    exponential_lrs,
    smooth_losses,
    steepest_descent_lr,
)

from .training_recipe_utils import RECIPE, load_ckpt, train_1proc, write_tiny_config


def test_exponential_lrs_and_smoothing():
    lrs = exponential_lrs(1e-4, 1.0, 9)
    assert lrs[0] == pytest.approx(1e-4) and lrs[-1] == pytest.approx(1.0)
    assert np.allclose(np.diff(np.log10(lrs)), 0.5)
    assert smooth_losses([4.0, 2.0, 1.0], 0.25) == [4.0, 3.5, 2.875]


def test_steepest_descent_of_a_synthetic_curve():
    lrs = exponential_lrs(1e-4, 1.0, 41)  # 10 points per decade
    # loss falls fastest at lr = 1e-2 (index 20), then blows up past 0.3
    logs = np.log10(lrs)
    losses = 1 - np.tanh(2 * (logs + 2)) + np.where(logs > -0.5, 30 * (logs + 0.5)**2, 0)
    assert steepest_descent_lr(lrs, losses.tolist(), 0, 0) == 20
    assert steepest_descent_lr(lrs, losses.tolist(), 10, 5) == 20
    assert steepest_descent_lr(lrs[:5], losses[:5].tolist(), 1, 2) is None


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match='min_lr < max_lr'):
        LREstimationHook(min_lr=0.1, max_lr=0.01)
    with pytest.raises(ValueError, match='fewer than 3'):
        LREstimationHook(num_iters=10, skip_start=5, skip_end=4)


def build_runner(tmp_path, work_dir, cfg_options=None, **kwargs):
    """A runner prepared as Runner.train() does before its hooks run;
    ``cfg_options`` is merged as tools/train.py merges ``--cfg-options``."""
    path = write_tiny_config(tmp_path / 'cfg.py', tmp_path / 'data', **kwargs)
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(cfg_options or {})
    cfg.work_dir = str(tmp_path / work_dir)
    cfg.custom_hooks = []
    runner = Runner.from_cfg(cfg)
    runner._train_loop = runner.build_train_loop(runner._train_loop)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.param_schedulers = runner.build_param_scheduler(runner.param_schedulers)
    runner.optim_wrapper.initialize_count_status(runner.model, 0, runner.max_iters)
    return runner


def rng_snapshot():
    return (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())


def test_range_test_restores_state_and_sets_the_peak(tmp_path):
    runner = build_runner(tmp_path, 'w')
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    optim_before = copy.deepcopy(runner.optim_wrapper.state_dict())
    rng_before = rng_snapshot()
    hook = LREstimationHook(min_lr=1e-3, max_lr=1.0, num_iters=6, skip_start=1,
                            skip_end=1, smooth_f=0.5, seed=3)
    hook.before_train(runner)

    # weights (BN buffers included), optimizer state, counters and RNGs restored
    for k, v in runner.model.state_dict().items():
        assert torch.equal(v, before[k]), k
    optim_after = runner.optim_wrapper.state_dict()
    assert optim_after['state'] == optim_before['state'] == {}
    assert runner.optim_wrapper._inner_count == 0
    assert all(p.grad is None for p in runner.model.parameters())
    after = rng_snapshot()
    assert torch.equal(after[0], rng_before[0]) and np.array_equal(after[1], rng_before[1])
    assert after[2] == rng_before[2]

    # the test trained (the loss moved) and the pick follows the documented rule
    result = hook.result
    assert len(result['losses']) == 6 and result['losses'][-1] != result['losses'][0]
    sm = result['smoothed']  # kept points 1..4: one-sided ends, central inside
    slopes = {1: sm[2] - sm[1], 4: sm[4] - sm[3]}
    slopes.update({i: (sm[i + 1] - sm[i - 1]) / 2 for i in (2, 3)})
    expected = min(slopes, key=slopes.get)
    assert result['index'] == expected and result['lr'] == pytest.approx(result['lrs'][expected])
    lr = result['lr']
    assert lr != pytest.approx(0.05)

    # the whole OneCycle schedule now peaks at lr (ratios kept)
    onecycle = runner.param_schedulers[0]
    assert onecycle.eta_max == pytest.approx(lr)
    for group in runner.optim_wrapper.param_groups:
        assert group['max_lr'] == pytest.approx(lr)
        assert group['initial_lr'] == pytest.approx(lr / 100)
        assert group['lr'] == pytest.approx(lr / 100)
        assert group['min_lr'] == pytest.approx(lr / 100 / 1000)
    assert runner.message_hub.get_info('lr_estimation')['lr'] == pytest.approx(lr)
    saved = json.loads((tmp_path / 'w' / 'lr_estimation.json').read_text())
    assert saved['lr'] == pytest.approx(lr) and saved['lrs'] == pytest.approx(result['lrs'])

    # reproducible: the same seed on the same weights gives the same curve
    again = LREstimationHook(min_lr=1e-3, max_lr=1.0, num_iters=6, skip_start=1,
                             skip_end=1, smooth_f=0.5, seed=3)
    again.before_train(runner)
    assert again.result['losses'] == result['losses']
    assert onecycle.eta_max == pytest.approx(lr)  # peak already there: factor 1


def test_the_recipe_switches_the_range_test_on_by_its_name(tmp_path):
    """paper_recipe.py's hook entry reads the top-level ``lr_range_test`` when
    training starts, so ``--cfg-options lr_range_test=True`` (merged after the
    bases are resolved) switches it on; by default it is off."""
    recipe = Config.fromfile(RECIPE)
    assert recipe.lr_range_test is False
    entries = [h for h in recipe.custom_hooks if h['type'] == 'LREstimationHook']
    assert len(entries) == 1 and entries[0]['enabled_by'] == 'lr_range_test'
    quick = dict(entries[0], min_lr=1e-3, max_lr=1.0, num_iters=6, skip_start=1, skip_end=1,
                 smooth_f=0.5)
    for switch in (None, False, True):
        runner = build_runner(tmp_path, f'w{switch}', cfg_options=(
            None if switch is None else {'lr_range_test': switch}))
        hook = HOOKS.build(quick)
        hook.before_train(runner)
        assert (hook.result is not None) is bool(switch), switch
        assert (tmp_path / f'w{switch}' / 'lr_estimation.json').exists() is bool(switch)
    with pytest.raises(KeyError, match="no top-level key 'lr_rangetest'"):
        HOOKS.build(dict(quick, enabled_by='lr_rangetest')).before_train(runner)


def test_divergence_ends_the_test_cleanly(tmp_path):
    runner = build_runner(tmp_path, 'd')
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    # no divergence threshold: the loss grows until SAM raises on a non-finite
    # gradient, which ends the test instead of the training
    hook = LREstimationHook(min_lr=1e-2, max_lr=1e8, num_iters=12, skip_start=1,
                            skip_end=1, smooth_f=0.5, diverge_th=1e30)
    hook.before_train(runner)
    losses = hook.result['losses']
    assert 0 < len(losses) < 12 and all(math.isfinite(v) for v in losses)
    for k, v in runner.model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert math.isfinite(hook.result['lr'])


def test_resumed_runs_skip_the_test(tmp_path):
    runner = build_runner(tmp_path, 'r')
    runner.train_loop._iter = 4
    hook = LREstimationHook()
    hook.before_train(runner)
    assert hook.result is None
    assert runner.param_schedulers[0].eta_max == pytest.approx(0.05)


@pytest.mark.slow
def test_run_with_estimation_equals_run_with_that_lr(tmp_path):
    """Everything the range test touched is restored: training with the hook
    equals training configured with the LR it found."""
    data = tmp_path / 'data'
    with_hook = write_tiny_config(tmp_path / 'a.py', data, max_epochs=2, lr_estimation=True)
    train_1proc(with_hook, tmp_path / 'a')
    lr = json.loads((tmp_path / 'a' / 'lr_estimation.json').read_text())['lr']
    assert math.isfinite(lr) and lr != pytest.approx(0.05)
    without = write_tiny_config(tmp_path / 'b.py', data, max_epochs=2, lr_estimation=False)
    train_1proc(without, tmp_path / 'b', '--cfg-options', f'param_scheduler.eta_max={lr!r}')
    a = load_ckpt(tmp_path / 'a' / 'epoch_2.pth')
    b = load_ckpt(tmp_path / 'b' / 'epoch_2.pth')
    for key in ('state_dict', 'ema_state_dict'):
        for k, v in a[key].items():
            torch.testing.assert_close(b[key][k], v, atol=1e-6, rtol=0)
    assert a['optimizer']['param_groups'][0]['max_lr'] == pytest.approx(lr)
