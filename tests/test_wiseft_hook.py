"""WiSEFTHook's checks (its averaging and resume: tests/test_resume.py)."""
import logging
from types import SimpleNamespace

import pytest
from mmengine.hooks import CheckpointHook
from torch import nn

from mmpretrain_multilabel.engine.hooks import TrainingSummaryHook, WiSEFTHook


@pytest.mark.parametrize('alpha', [0, -0.5, 1.5, 'half'])
def test_alpha_outside_its_range_is_refused(alpha):
    with pytest.raises(ValueError, match=r'alpha must be in \(0, 1\]'):
        WiSEFTHook(alpha=alpha)


def test_resumed_without_the_start_warns_and_does_not_average(caplog):
    logger = logging.getLogger('wiseft_test')
    runner = SimpleNamespace(iter=4, model=nn.Linear(2, 2), logger=logger, hooks=[])
    hook = WiSEFTHook()
    with caplog.at_level(logging.WARNING, logger='wiseft_test'):
        hook.before_train(runner)
    assert 'without the start weights' in caplog.text
    hook.after_train(runner)  # nothing to average: no checkpoint written
    assert hook.start is None


def test_training_summary_names_the_averaged_checkpoint(tmp_path):
    """The end-of-training summary's Checkpoint / Evaluate lines name
    ``wiseft.pth`` once the hook has written it, the best checkpoint before."""
    best = CheckpointHook(save_best='auto')
    best.best_ckpt_path = str(tmp_path / 'best_mAP_epoch_3.pth')
    hook = WiSEFTHook()
    runner = SimpleNamespace(iter=0, model=nn.Linear(2, 2), work_dir=str(tmp_path),
                             logger=logging.getLogger('wiseft_test'), hooks=[best, hook],
                             save_checkpoint=lambda *args, **kwargs: None)
    summary = TrainingSummaryHook()
    hook.before_train(runner)
    assert summary._checkpoint(runner) == best.best_ckpt_path
    hook.after_train(runner)
    assert summary._checkpoint(runner) == str(tmp_path / 'wiseft.pth')
