"""Chance level of mAP, cross-validation folds and the not-learning warning."""
import itertools
import logging
from types import SimpleNamespace

import numpy as np
import pytest

from mmpretrain_multilabel.datasets import kfold_indices
from mmpretrain_multilabel.engine.hooks import TrainingSummaryHook
from mmpretrain_multilabel.evaluation import chance_map, expected_random_ap
from mmpretrain_multilabel.evaluation.functional import multilabel_metrics


@pytest.mark.parametrize('num,num_pos', [(1, 1), (5, 1), (6, 2), (7, 3), (6, 6)])
def test_expected_random_ap_is_the_mean_over_all_rankings(num, num_pos):
    """Exact: the average AP over every placement of the positives."""
    aps = []
    for positions in itertools.combinations(range(num), num_pos):
        y = np.zeros((num, 1))
        y[list(positions)] = 1
        scores = -np.arange(num, dtype=np.float64).reshape(-1, 1)  # rank i at position i
        aps.append(multilabel_metrics(scores, y)['mAP'] / 100)
    assert expected_random_ap(np.array([num_pos]), num)[0] == pytest.approx(np.mean(aps))


def test_expected_random_ap_tends_to_the_positive_rate():
    assert expected_random_ap(np.array([1000]), 100000)[0] == pytest.approx(0.01, rel=0.02)
    assert np.isnan(expected_random_ap(np.array([0]), 10)[0])
    with pytest.raises(ValueError, match='num=0'):
        expected_random_ap(np.array([1]), 0)


def test_chance_map_follows_the_empty_class_rule_and_ignores():
    y = np.zeros((10, 3))
    y[:2, 0] = 1
    y[:5, 1] = 1
    one, two = expected_random_ap(np.array([2, 5]), 10) * 100
    assert chance_map(y) == pytest.approx((one + two) / 2)
    assert chance_map(y, 'zero') == pytest.approx((one + two) / 3)
    y[5:, 0] = -1  # ignored entries are not ranked: 2 positives among 5
    assert chance_map(y) == pytest.approx(
        (expected_random_ap(np.array([2]), 5)[0] * 100 + two) / 2)
    with pytest.raises(ValueError, match='no class'):
        chance_map(np.zeros((4, 2)))
    with pytest.raises(ValueError, match='empty_class'):
        chance_map(y, 'skip')


def test_kfold_indices_hold_each_sample_out_once():
    folds = kfold_indices(126, 3, seed=0)
    held_out = [i for _, val in folds for i in val]
    assert sorted(held_out) == list(range(126))
    for train, val in folds:
        assert len(val) == 42 and not set(train) & set(val)
        assert sorted(train + val) == list(range(126))
    assert folds == kfold_indices(126, 3, seed=0)
    assert folds != kfold_indices(126, 3, seed=1)
    with pytest.raises(ValueError, match='folds'):
        kfold_indices(5, 1)


class _Logger:
    def __init__(self):
        self.warnings = []

    def warning(self, msg):
        self.warnings.append(msg)

    info = logging.getLogger('unused').info


def _runner(epoch, max_epochs=8):
    return SimpleNamespace(epoch=epoch, logger=_Logger(),
                           train_loop=SimpleNamespace(max_epochs=max_epochs))


def _evaluate(hook, runner, maps):
    for epoch, value in enumerate(maps, 1):
        runner.epoch = epoch
        hook.after_val_epoch(runner, {'multi-label/mAP': value,
                                      'multi-label/mAP_origin': value - 1})


def test_not_learning_is_said_once_after_the_warmup():
    hook = TrainingSummaryHook(key='multi-label/mAP', chance_margin=3.0, warmup=0.25)
    hook.chance = 10.0
    runner = _runner(0)
    _evaluate(hook, runner, [9.0, 11.0, 12.5, 11.0, 10.0])
    assert len(runner.logger.warnings) == 1
    message = runner.logger.warnings[0]
    assert 'NOT LEARNING' in message and 'chance level 10.00' in message
    assert 'BatchSumLoss' in message and 'frozen' in message and 'labels' in message


def test_a_learning_run_gets_no_warning():
    hook = TrainingSummaryHook(key='multi-label/mAP', chance_margin=3.0, warmup=0.25)
    hook.chance = 10.0
    runner = _runner(0)
    _evaluate(hook, runner, [9.0, 30.0, 40.0, 45.0])  # at chance only during the warm-up
    assert runner.logger.warnings == []


def test_summary_hook_checks_its_arguments():
    with pytest.raises(ValueError, match='chance_margin'):
        TrainingSummaryHook(chance_margin=-1)
    with pytest.raises(ValueError, match='warmup'):
        TrainingSummaryHook(warmup=1.5)
