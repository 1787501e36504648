"""models/utils/weight_interpolation.py: WiSE-FT's weight-space average."""
import pytest
import torch
from torch import nn

from mmpretrain_multilabel.models.utils.weight_interpolation import (
    float_state,
    interpolate_weights_,
)


def _model():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))


def test_every_float_entry_is_averaged_and_counters_are_kept():
    torch.manual_seed(0)
    model = _model()
    start = float_state(model)
    model.train()(torch.randn(8, 3))  # batch-norm statistics and counter move
    with torch.no_grad():
        model[0].weight.add_(1.)
    end = float_state(model)
    interpolate_weights_(model, start, .25)
    for key, value in float_state(model).items():
        torch.testing.assert_close(value, .75 * start[key] + .25 * end[key])
    assert model[1].num_batches_tracked.item() == 1
    assert start['0.weight'].data_ptr() != model[0].weight.data_ptr()  # a copy


@pytest.mark.parametrize('alpha', [0., 1.])
def test_the_ends_are_the_start_and_the_final_model(alpha):
    torch.manual_seed(0)
    model = _model()
    start = float_state(model)
    with torch.no_grad():
        model[0].bias.add_(2.)
    end = float_state(model)
    interpolate_weights_(model, start, alpha)
    for key, value in float_state(model).items():
        assert torch.equal(value, (start if alpha == 0 else end)[key])


def test_bad_weight_or_state_is_named():
    model = _model()
    start = float_state(model)
    with pytest.raises(ValueError, match=r'alpha must be in \[0, 1\], got 1.5'):
        interpolate_weights_(model, start, 1.5)
    del start['1.running_mean']
    with pytest.raises(ValueError, match=r"does not match the model at \['1.running_mean'\]"):
        interpolate_weights_(model, start, .5)
