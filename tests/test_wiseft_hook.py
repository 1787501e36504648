"""WiSEFTHook's checks (its averaging and resume: tests/test_resume.py)."""
import logging
from types import SimpleNamespace

import pytest
from torch import nn

from mmpretrain_multilabel.engine.hooks import WiSEFTHook


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
