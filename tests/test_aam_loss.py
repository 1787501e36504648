"""AAMLoss against a plainly written eq. 1, gradients, ignore labels, limits."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.models.losses import AsymmetricLoss
from mmpretrain.registry import MODELS

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.models.losses import AAMLoss, aam_loss

# (s, m, k, gamma_pos, gamma_neg, clip)
PARAM_SETS = [
    (23.0, 0.0, 0.7, 0.0, 0.0, 0.0),   # paper defaults, eq. 1
    (23.0, 0.0, 0.7, 0.0, 1.0, 0.0),   # COCO
    (17.0, 0.0, 0.7, 1.0, 2.0, 0.0),   # VOC
    (25.0, 0.1, 0.6, 0.0, 1.0, 0.0),   # margin
    (10.0, 0.05, 0.7, 1.0, 4.0, 0.05),  # margin + clip
    (23.0, 0.0, 0.5, 0.0, 3.0, 0.1),   # clip
    (5.0, 0.2, 0.9, 2.0, 0.5, 0.05),   # fractional gamma with clip
]


def reference_aam(cos, target, s, m, k, gamma_pos, gamma_neg, clip):
    """Eq. 1 element by element in Python floats; -1 targets contribute 0."""
    out = []
    for row_c, row_t in zip(cos.tolist(), target.tolist()):
        row = []
        for c, y in zip(row_c, row_t):
            if y == -1:
                row.append(0.0)
                continue
            p_pos = 1.0 / (1.0 + math.exp(-s * (c - m)))
            p_neg = 1.0 / (1.0 + math.exp(s * (c + m)))
            pos = -(k / s) * p_neg ** gamma_pos * math.log(p_pos)
            if clip > 0:
                neg_prob, neg_w = min(p_neg + clip, 1.0), max(p_pos - clip, 0.0) ** gamma_neg
            else:
                neg_prob, neg_w = p_neg, p_pos ** gamma_neg
            neg = -((1 - k) / s) * neg_w * math.log(neg_prob)
            row.append(y * pos + (1 - y) * neg)
        out.append(row)
    return torch.tensor(out, dtype=torch.float64)


def make_inputs(n=6, k=9, seed=0, soft=True, ignore=True):
    g = torch.Generator().manual_seed(seed)
    cos = torch.rand(n, k, generator=g, dtype=torch.float64) * 1.8 - 0.9
    target = (torch.rand(n, k, generator=g) < 0.3).double()
    if soft:
        target[0] = torch.rand(k, generator=g, dtype=torch.float64)
    if ignore:
        target[1, :3] = -1
        target[-1, -1] = -1
    return cos, target


@pytest.mark.parametrize('params', PARAM_SETS)
def test_matches_plain_eq1(params):
    s, m, k, gp, gn, clip = params
    cos, target = make_inputs()
    loss = AAMLoss(s=s, m=m, k=k, gamma_pos=gp, gamma_neg=gn, clip=clip)
    ref = reference_aam(cos, target, s, m, k, gp, gn, clip)
    none = loss(cos, target, reduction_override='none')
    torch.testing.assert_close(none.double(), ref, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(loss(cos, target).double(), ref.sum() / cos.shape[0],
                               rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(loss(cos, target, reduction_override='sum').double(), ref.sum(),
                               rtol=1e-5, atol=1e-7)


def test_m0_k05_is_scaled_bce():
    # eq. 1 with m=0, k=0.5, no focusing = BCE on logits s*cos, times 0.5/s.
    cos, target = make_inputs(ignore=False)
    s = 13.0
    loss = aam_loss(cos, target, s=s, k=0.5, reduction='sum')
    bce = F.binary_cross_entropy_with_logits(s * cos, target, reduction='sum')
    torch.testing.assert_close(loss.double(), 0.5 / s * bce, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize('params', PARAM_SETS)
def test_gradcheck_float64(params):
    s, m, k, gp, gn, clip = params
    cos, target = make_inputs(n=3, k=5, seed=1)
    cos.requires_grad_(True)

    def fn(c):
        return aam_loss(c, target, s=s, m=m, k=k, gamma_pos=gp, gamma_neg=gn, clip=clip)

    assert fn(cos).dtype == torch.float64
    assert torch.autograd.gradcheck(fn, (cos, ), eps=1e-6, atol=1e-7, rtol=1e-4)


def test_ignored_labels_change_nothing_else():
    cos, target = make_inputs(seed=3)
    ignored = target == -1
    assert ignored.any()
    loss = AAMLoss(s=23.0, gamma_pos=1.0, gamma_neg=2.0, clip=0.05)

    c1 = cos.clone().requires_grad_(True)
    l1 = loss(c1, target)
    l1.backward()
    # Different scores at the ignored entries: same loss, same other grads.
    c2 = cos.clone()
    c2[ignored] = torch.linspace(-1, 1, int(ignored.sum()), dtype=c2.dtype)
    c2.requires_grad_(True)
    l2 = loss(c2, target)
    l2.backward()
    assert torch.equal(l1, l2)
    assert torch.equal(c1.grad[~ignored], c2.grad[~ignored])
    assert torch.all(c1.grad[ignored] == 0) and torch.all(c2.grad[ignored] == 0)
    # And the loss equals the sum over the non-ignored entries only.
    none = loss(cos, target, reduction_override='none')
    assert torch.all(none[ignored] == 0)
    ref = reference_aam(cos, target, 23.0, 0.0, 0.7, 1.0, 2.0, 0.05)
    torch.testing.assert_close(l1.double(), ref[~ignored].sum() / cos.shape[0], rtol=1e-5,
                               atol=1e-7)


@pytest.mark.parametrize('s', [1.0, 23.0, 64.0])
@pytest.mark.parametrize('params', PARAM_SETS)
def test_extreme_inputs_finite(s, params):
    _, m, k, gp, gn, clip = params
    cos = torch.tensor([[-1.0, 1.0, 0.0, 1.0, -1.0, 0.999999]] * 3)
    target = torch.tensor([[1.0, 1.0, 1.0, 0.0, 0.0, -1.0], [0.0] * 6, [0.5] * 6])
    cos.requires_grad_(True)
    loss = aam_loss(cos, target, s=s, m=m, k=k, gamma_pos=gp, gamma_neg=gn, clip=clip)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(cos.grad).all()


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_inputs_and_autocast(dtype):
    cos, target = make_inputs(ignore=True)
    expected = aam_loss(cos.float(), target.float(), s=64.0, gamma_neg=1.0)
    low = cos.to(dtype).requires_grad_(True)
    loss = aam_loss(low, target, s=64.0, gamma_neg=1.0)
    loss.backward()
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    assert low.grad.dtype == dtype and torch.isfinite(low.grad.float()).all()
    torch.testing.assert_close(loss, expected, rtol=0.05, atol=1e-3)
    # cosines from a bf16 autocast matmul, saturated (cos = +-1)
    feats = torch.randn(4, 16)
    weight = torch.cat([feats[:2], -feats[2:]])
    with torch.autocast('cpu', dtype=torch.bfloat16):
        c = F.linear(F.normalize(feats), F.normalize(weight))
        out = aam_loss(c, torch.eye(4), s=64.0, gamma_pos=1.0, gamma_neg=2.0, clip=0.05)
    assert torch.isfinite(out)


def test_reductions_weights_and_head_call():
    cos, target = make_inputs(n=5, k=4, seed=4, soft=False, ignore=False)
    loss = AAMLoss(s=10.0, loss_weight=2.0)
    none = loss(cos, target, reduction_override='none')
    assert none.shape == cos.shape
    torch.testing.assert_close(loss(cos, target, reduction_override='sum'), none.sum())
    # 'mean': sum over classes, mean over samples, with or without avg_factor
    torch.testing.assert_close(loss(cos, target), none.sum() / 5)
    torch.testing.assert_close(loss(cos, target, avg_factor=5), none.sum() / 5)
    torch.testing.assert_close(loss(cos, target, avg_factor=2), none.sum() / 2)
    w = torch.tensor([1.0, 0.0, 2.0, 1.0, 0.5], dtype=torch.float64)
    torch.testing.assert_close(loss(cos, target, weight=w, reduction_override='sum'),
                               (none * w[:, None]).sum())
    w2 = torch.rand(5, 4, dtype=torch.float64)
    torch.testing.assert_close(loss(cos, target, weight=w2, reduction_override='sum'),
                               (none * w2).sum())
    # same convention as MMPretrain's AsymmetricLoss called by a head
    asl = AsymmetricLoss(gamma_pos=0, gamma_neg=0, clip=0)
    asl_none = asl(cos, target, reduction_override='none')
    torch.testing.assert_close(asl(cos, target, avg_factor=5).double(), asl_none.sum() / 5)
    with pytest.raises(ValueError):
        loss(cos, target, reduction_override='max')


def test_stateless_and_registered():
    loss = MODELS.build(dict(type='AAMLoss', s=17.0, gamma_pos=1.0, gamma_neg=2.0))
    assert isinstance(loss, AAMLoss) and loss.s == 17.0
    cos, target = make_inputs(seed=5)
    before = dict(vars(loss))
    a, b = loss(cos, target), loss(cos, target)
    assert torch.equal(a, b) and dict(vars(loss)).keys() == before.keys()
    assert not list(loss.parameters()) and not list(loss.buffers())


@pytest.mark.parametrize('kwargs', [
    dict(s=0), dict(s=-1), dict(k=1.5), dict(gamma_neg=-1), dict(clip=1.0), dict(clip=-0.1),
    dict(m=float('nan')), dict(reduction='avg'), dict(s='23')])
def test_bad_config(kwargs):
    with pytest.raises(ValueError, match='AAMLoss'):
        AAMLoss(**kwargs)


def test_bad_targets():
    cos = torch.zeros(2, 3)
    with pytest.raises(ValueError, match='target values'):
        aam_loss(cos, torch.tensor([[0.0, 2.0, 1.0], [0, 0, 0]]))
    with pytest.raises(ValueError, match='target values'):
        aam_loss(cos, torch.tensor([[0.0, -0.5, 1.0], [0, 0, 0]]))
    with pytest.raises(ValueError, match='same shape'):
        aam_loss(cos, torch.zeros(2, 4))
