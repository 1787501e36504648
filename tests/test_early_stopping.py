"""SmoothedEarlyStoppingHook: the authors' rule on scripted metric sequences
(against a plain reimplementation here), warm-up from a real OneCycleLR,
checkpoint round trip with and without the evaluation MMEngine skips on
resume, and an interrupted run through tools/train.py equal to a straight
one (SAM, EMA and early-stopping state all resumed)."""
import itertools
import shutil

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.optim import OneCycleLR
from mmpretrain.engine.hooks import EMAHook

from mmpretrain_multilabel.engine import SmoothedEarlyStoppingHook, smoothed_best_update

from .training_recipe_utils import load_ckpt, train_1proc, write_tiny_config

MONITOR = 'multi-label/mAP'
ITERS = 2  # iterations per epoch of the fake runner
_hub_ids = itertools.count()


def reference_rule(raw, ema, counting_from, patience=5):
    """The rule as the paper states it (Sec. 3.5, arXiv 2209.06585); returns (stop epoch or
    None, smoothed best, wait) after the last processed epoch."""
    best, wait = 0.0, 0
    for epoch, (r, e) in enumerate(zip(raw, ema), 1):
        acc = max(r, e)
        if acc > best:
            best, wait = 0.8 * acc + 0.2 * best, 0
        elif epoch >= counting_from:
            wait += 1
        if wait >= patience:
            return epoch, best, wait
    return None, best, wait


class FakeLogger:

    def __init__(self):
        self.messages = []

    def info(self, msg):
        self.messages.append(msg)

    warning = info


class FakeLoop:

    def __init__(self, max_epochs):
        self.stop_training = False
        self.val_begin, self.val_interval, self.max_epochs = 1, 1, max_epochs


class FakeValLoop:

    def __init__(self, runner):
        self.runner, self.calls = runner, 0

    def run(self):
        self.calls += 1
        self.runner.evaluate()


class FakeRunner:
    """Just what the hook reads: epoch/iter, the train loop, the hooks, the
    message hub, a real OneCycleLR stepped per iteration, and a val loop that
    replays scripted metrics (EMA model's as the metric, raw as _origin)."""

    def __init__(self, raw, ema, max_epochs, pct_start=0.25, with_ema=True):
        self.raw, self.ema = raw, ema
        self.epoch = self.iter = 0
        self.train_loop = self._train_loop = FakeLoop(max_epochs)
        self.message_hub = MessageHub.get_instance(f'es-test-{next(_hub_ids)}')
        self.logger = FakeLogger()
        self.with_ema = with_ema
        self.hooks = [EMAHook(momentum=1e-3, evaluate_on_ema=True,
                              evaluate_on_origin=True)] if with_ema else []
        self.optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
        self.param_schedulers = [OneCycleLR(
            self.optimizer, eta_max=0.1, total_steps=max_epochs * ITERS,
            pct_start=pct_start, by_epoch=False)]
        self._resume = False
        self.val_loop = FakeValLoop(self)
        self.hook = None

    def train_epoch(self):
        for _ in range(ITERS):
            self.optimizer.step()
            self.param_schedulers[0].step()
            self.iter += 1
        self.epoch += 1

    def evaluate(self):
        e = self.epoch - 1
        if self.with_ema:
            metrics = {MONITOR: self.ema[e]}
            self.message_hub.update_scalar(f'val/{MONITOR}_origin', self.raw[e])
        else:
            metrics = {MONITOR: self.raw[e]}
        self.hook.after_val_epoch(self, metrics)
        return metrics

    def run_until(self, last_epoch):
        """Train + evaluate epochs until stopped or ``last_epoch`` is done."""
        while self.epoch < last_epoch and not self.train_loop.stop_training:
            self.train_epoch()
            self.evaluate()


def new_run(raw, ema, patience=5, with_ema=True, **hook_kwargs):
    runner = FakeRunner(raw, ema, max_epochs=len(raw), with_ema=with_ema)
    runner.hook = SmoothedEarlyStoppingHook(monitor=MONITOR, patience=patience,
                                            **hook_kwargs)
    runner.hook.before_run(runner)
    runner.hook.before_train(runner)
    return runner


def test_rule_by_hand():
    # the smoothed best (0.8 * 50 + 0.2 * 0 = 40) makes a later 40 a miss
    state = (0.0, 0)
    trace = []
    for acc in (50, 40, 45, 44, 44.5, 44.4, 44):
        best, wait, _ = smoothed_best_update(*state, acc, counting=True)
        state = (best, wait)
        trace.append((round(best, 6), wait))
    assert trace == [(40, 0), (40, 1), (44, 0), (44, 1), (44.4, 0), (44.4, 1), (44.4, 2)]
    # during the warm-up a miss does not count
    assert smoothed_best_update(40.0, 3, 30.0, counting=False) == (40.0, 3, False)


def test_hook_stops_as_the_rule_says_and_logs_why():
    ema = [50, 40, 45, 44, 44.5, 44.4, 44, 43, 42, 41, 40, 39]
    raw = [10, 41, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]  # epoch 2: raw beats EMA
    runner = new_run(raw, ema, patience=2, warmup=None)
    runner.run_until(len(raw))
    # epoch 2 scores max(41, 40) = 41 > 40: an improvement, unlike EMA alone
    hook = runner.hook
    assert [h['score'] for h in hook.history[:2]] == [50, 41]
    assert hook.history[1]['wait'] == 0
    stop, best, wait = reference_rule(raw, ema, counting_from=1, patience=2)
    assert runner.train_loop.stop_training and runner.epoch == stop == 7
    assert hook.best_smoothed == pytest.approx(best) and hook.wait_count == wait
    assert 'stopped at epoch 7' in hook.stop_reason and 'patience 2' in hook.stop_reason
    assert any(m.startswith('Early stopping: stopped at epoch 7') for m in runner.logger.messages)


def test_published_score_and_metric_checks():
    runner = new_run([30.0] * 4, [20.0] * 4)
    runner.train_epoch()
    metrics = runner.evaluate()
    assert metrics[f'{MONITOR}_raw_ema_max'] == 30.0
    assert runner.message_hub.get_scalar(f'val/{MONITOR}_raw_ema_max').current() == 30.0
    with pytest.raises(RuntimeError, match='not available'):
        runner.hook.after_val_epoch(runner, {'other': 1.0})
    # EMAHook must run first to have evaluated the raw model
    late = FakeRunner([1.0] * 4, [1.0] * 4, max_epochs=4)
    late.hooks[0].priority = 'LOW'
    with pytest.raises(ValueError, match='after EMAHook'):
        SmoothedEarlyStoppingHook(monitor=MONITOR).before_train(late)
    with pytest.raises(ValueError, match='patience'):
        SmoothedEarlyStoppingHook(patience=0)


def random_sequences(n, seed=0):
    rng = np.random.default_rng(seed)
    for i in range(n):
        length = int(rng.integers(6, 20))
        trend = np.minimum(np.arange(length) * rng.uniform(1, 6), rng.uniform(20, 60))
        raw = (trend + rng.normal(0, 3, length)).round(2).tolist()
        ema = (trend + rng.normal(0, 3, length)).round(2).tolist()
        yield i, raw, ema


@pytest.mark.parametrize('with_ema', [True, False])
def test_random_sequences_match_the_rule_with_warmup(with_ema):
    for _, raw, ema in random_sequences(25, seed=int(with_ema)):
        runner = new_run(raw, ema, patience=3, with_ema=with_ema)
        runner.run_until(len(raw))
        # OneCycle (pct_start 0.25) leaves its warm-up phase once more than
        # 0.25 * total - 1 iterations are done (MMEngine's phase boundary)
        total = len(raw) * ITERS
        counting_from = next(e for e in range(1, len(raw) + 2) if e * ITERS > 0.25 * total - 1)
        stop, best, wait = reference_rule(raw, ema if with_ema else raw, counting_from, 3)
        assert (runner.epoch if runner.train_loop.stop_training else None) == stop
        assert runner.hook.best_smoothed == pytest.approx(best)
        assert runner.hook.wait_count == wait
        assert [h['counted'] for h in runner.hook.history] == [
            e >= counting_from for e in range(1, len(runner.hook.history) + 1)]


@pytest.mark.parametrize('evaluated_before_save', [False, True])
def test_resume_in_the_middle_gives_the_same_decisions(evaluated_before_save):
    """The state travels in checkpoint['meta']; an evaluation the checkpoint
    missed (MMEngine saves epoch checkpoints before validating) is re-run."""
    for i, raw, ema in random_sequences(15, seed=7):
        straight = new_run(raw, ema, patience=3)
        straight.run_until(len(raw))

        cut = 2 + i % (len(raw) - 3)  # checkpoint of epoch `cut`
        first = new_run(raw, ema, patience=3)
        first.run_until(cut - 1)
        if first.train_loop.stop_training:
            continue
        first.train_epoch()
        if evaluated_before_save:
            first.evaluate()
        checkpoint = dict(meta=dict(epoch=cut))
        first.hook.before_save_checkpoint(first, checkpoint)

        resumed = FakeRunner(raw, ema, max_epochs=len(raw))
        for _ in range(cut):
            resumed.train_epoch()  # scheduler state as restored
        resumed._resume = True
        resumed.hook = SmoothedEarlyStoppingHook(monitor=MONITOR, patience=3)
        resumed.hook.before_run(resumed)
        resumed.hook.after_load_checkpoint(resumed, checkpoint)
        resumed.hook.before_train(resumed)
        if not resumed.train_loop.stop_training:
            resumed.hook.before_train_epoch(resumed)
            resumed.run_until(len(raw))
        assert resumed.val_loop.calls == (0 if evaluated_before_save else 1)
        assert resumed.hook.state_dict() == straight.hook.state_dict()
        assert resumed.train_loop.stop_training == straight.train_loop.stop_training


def test_fine_tuning_from_a_checkpoint_starts_fresh():
    runner = new_run([50.0] * 4, [50.0] * 4)
    runner.run_until(4)
    checkpoint = dict(meta={})
    runner.hook.before_save_checkpoint(runner, checkpoint)
    other = FakeRunner([1.0] * 4, [1.0] * 4, max_epochs=4)  # not resuming: load_from
    hook = SmoothedEarlyStoppingHook(monitor=MONITOR)
    hook.after_load_checkpoint(other, checkpoint)
    assert hook.best_smoothed == 0 and hook.history == []


@pytest.mark.slow
def test_interrupted_training_equals_straight_training(tmp_path):
    """tools/train.py: 4 epochs straight vs resumed (--resume) from the epoch-2
    checkpoint of that run, as after a crash (SAM, EMA, OneCycle, LR
    estimation, early stopping with patience 1)."""
    cfg = write_tiny_config(tmp_path / 'cfg.py', tmp_path / 'data', max_epochs=4,
                            patience=1, lr_estimation=True, keep_ckpts=4)
    train_1proc(cfg, tmp_path / 'a')
    (tmp_path / 'b').mkdir()
    shutil.copy(tmp_path / 'a' / 'epoch_2.pth', tmp_path / 'b' / 'epoch_2.pth')
    train_1proc(cfg, tmp_path / 'b', '--resume', str(tmp_path / 'b' / 'epoch_2.pth'))
    a = load_ckpt((tmp_path / 'a' / 'last_checkpoint').read_text().strip())
    b = load_ckpt((tmp_path / 'b' / 'last_checkpoint').read_text().strip())
    assert a['meta']['epoch'] == b['meta']['epoch'] >= 3
    for key in ('state_dict', 'ema_state_dict'):
        for k, v in a[key].items():
            torch.testing.assert_close(b[key][k], v, atol=1e-6, rtol=0)
    for k, v in a['optimizer']['state'].items():
        torch.testing.assert_close(b['optimizer']['state'][k]['momentum_buffer'],
                                   v['momentum_buffer'], atol=1e-6, rtol=0)
    sa, sb = a['meta']['early_stopping'], b['meta']['early_stopping']
    assert sa.keys() == sb.keys()
    assert [h['step'] for h in sa['history']] == [h['step'] for h in sb['history']]
    for ha, hb in zip(sa['history'], sb['history']):
        assert ha['score'] == pytest.approx(hb['score'], abs=1e-4)
        assert (ha['wait'], ha['counted']) == (hb['wait'], hb['counted'])
    assert sa['wait_count'] == sb['wait_count']
    assert sa['stop_reason'] == sb['stop_reason']
