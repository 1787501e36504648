"""Per-step fidelity: one step of a paper config equals the authors' step.

The authors' ``AMBinaryLoss`` (deep-object-reid, torchreid/losses/asl.py) and
ASL's ``AsymmetricLoss`` return ``-loss.sum()`` over the batch; the paper's
learning rates belong to that. Here the paper configs' model and optimizer
take one step through MMPretrain's ``train_step`` and the result is compared
with a step written independently: the model's own scores, the authors'
summed loss written out below, and the authors' optimizer with their no-bias-
decay parameter groups: ``torch.optim.SGD`` for the AAM rows, ``torch.optim.Adam``
for the ASL rows (ASL's train.py, which the paper follows for them).
"""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.models.losses import BatchSumLoss

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def authors_am_binary_loss(cos, y, s, m, k, gamma_pos, gamma_neg):
    """The authors' AM binary loss as they reduce it: summed over the batch."""
    p_pos = torch.sigmoid(s * (cos - m))
    p_neg = torch.sigmoid(-s * (cos + m))
    loss = (k / s) * y * torch.log(p_pos.clamp(min=1e-8)) + \
        ((1 - k) / s) * (1 - y) * torch.log(p_neg.clamp(min=1e-8))
    weight = torch.pow(1 - p_pos * y - p_neg * (1 - y), gamma_pos * y + gamma_neg * (1 - y))
    return -(loss * weight).sum()


def asl_loss(logits, y, gamma_pos, gamma_neg, clip):
    """ASL (Ben-Baruch et al. 2021) as its authors reduce it: summed."""
    p = torch.sigmoid(logits)
    p_neg = (1 - p + clip).clamp(max=1)
    loss = y * torch.log(p.clamp(min=1e-8)) + (1 - y) * torch.log(p_neg.clamp(min=1e-8))
    pt = p * y + p_neg * (1 - y)
    weight = torch.pow(1 - pt, gamma_pos * y + gamma_neg * (1 - y))
    return -(loss * weight).sum()


def authors_optimizer(model, optimizer_cfg):
    """The config's optimizer as the authors build it: SGD (AAM rows) or Adam (ASL rows)
    with no decay on biases and norm layers (He et al. 2019)."""
    decay, no_decay = [], []
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            if not param.requires_grad:
                continue
            norm = isinstance(module, (torch.nn.modules.batchnorm._NormBase,
                                       torch.nn.GroupNorm, torch.nn.LayerNorm))
            (no_decay if norm or name == 'bias' else decay).append(param)
    groups = [dict(params=decay, weight_decay=optimizer_cfg.weight_decay),
              dict(params=no_decay, weight_decay=0.)]
    if optimizer_cfg.type == 'SGD':
        return torch.optim.SGD(groups, lr=optimizer_cfg.lr, momentum=optimizer_cfg.momentum)
    assert optimizer_cfg.type == 'Adam', optimizer_cfg.type
    return torch.optim.Adam(groups, lr=optimizer_cfg.lr)


def tiny_batch(num_classes, batch=4):
    g = torch.Generator().manual_seed(0)
    labels = [torch.randperm(num_classes, generator=g)[:3] for _ in range(batch)]
    return dict(inputs=[torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8, generator=g)
                        for _ in range(batch)],
                data_samples=[DataSample().set_gt_label(lab) for lab in labels])


def paper_model_and_wrapper(config):
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(osp.join(ROOT, 'configs', config))
    cfg.model.backbone.pop('init_cfg', None)
    cfg.model.data_preprocessor = cfg.data_preprocessor
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.train()
    return cfg, model


@pytest.mark.parametrize('config,reference', [
    ('effv2s/effv2s_mld-aam_2xb42_coco-448px.py', 'aam'),
    ('effv2s/effv2s_linear-asl_2xb42_coco-448px.py', 'asl'),
    ('coco319/lite0_linear-asl-recipe_1xb16_coco319-224px.py', 'asl'),
])
@pytest.mark.slow
def test_one_step_equals_the_authors_step(config, reference):
    cfg, model = paper_model_and_wrapper(config)
    assert cfg.model.head.loss.type == 'BatchSumLoss'
    assert isinstance(model.head.loss_module, BatchSumLoss)
    reference_model = copy.deepcopy(model)
    optimizer = cfg.optim_wrapper.optimizer
    # the plain step of the optimizer SAM wraps (SAM's own step: tests/test_sam.py)
    wrapper = build_optim_wrapper(model, dict(type='OptimWrapper', optimizer=optimizer,
                                              paramwise_cfg=cfg.optim_wrapper.paramwise_cfg))
    before = [p.detach().clone() for p in model.parameters()]
    data = tiny_batch(cfg.model.head.num_classes)

    torch.manual_seed(1)  # same dropout masks in both steps
    model.train_step(data, wrapper)

    torch.manual_seed(1)
    processed = reference_model.data_preprocessor(data, True)
    scores = reference_model.head(reference_model.extract_feat(processed['inputs']))
    y = torch.stack([s.gt_score for s in processed['data_samples']]).float()
    loss_cfg = cfg.model.head.loss.loss
    if reference == 'aam':
        loss = authors_am_binary_loss(scores, y, loss_cfg.s, loss_cfg.m, loss_cfg.k,
                                      loss_cfg.gamma_pos, loss_cfg.gamma_neg)
    else:
        loss = asl_loss(scores, y, loss_cfg.gamma_pos, loss_cfg.gamma_neg, loss_cfg.clip)
    authors = authors_optimizer(reference_model, optimizer)
    authors.zero_grad()
    loss.backward()
    authors.step()

    for (name, p), q in zip(model.named_parameters(), reference_model.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=name)
    head_moved = [not torch.equal(p, b) for (name, p), b in
                  zip(model.named_parameters(), before) if name.startswith('head')]
    assert any(head_moved)


def test_mean_reduction_takes_a_batch_size_smaller_step():
    """The failure the wrapper fixes: MMPretrain's mean makes the step N x smaller."""
    init_default_scope('mmpretrain')
    g = torch.Generator().manual_seed(0)
    cos = (torch.rand(16, 5, generator=g) * 2 - 1).requires_grad_()
    y = (torch.rand(16, 5, generator=g) < 0.3).float()
    summed = MODELS.build(dict(type='BatchSumLoss', loss=dict(type='AAMLoss', s=23.)))
    mean = MODELS.build(dict(type='AAMLoss', s=23.))
    grad_sum, = torch.autograd.grad(summed(cos, y, avg_factor=16), cos)
    grad_mean, = torch.autograd.grad(mean(cos, y, avg_factor=16), cos)
    torch.testing.assert_close(grad_sum, 16 * grad_mean)
    assert summed.s == 23. and summed.expects_cosine


def test_batch_sum_loss_rejects_a_non_config():
    with pytest.raises(ValueError, match='loss config'):
        BatchSumLoss(loss='AAMLoss')
