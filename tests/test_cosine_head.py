"""MultiLabelCosineClsHead: cosine scores, score convention, thresholds."""
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.models.heads import MultiLabelCosineClsHead, cosine_scores
from mmpretrain_multilabel.models.losses import aam_loss
from mmpretrain_multilabel.utils import save_thresholds

K = 5


def build_head(**kwargs):
    cfg = dict(type='MultiLabelCosineClsHead', num_classes=K, in_channels=8,
               loss=dict(type='AAMLoss', s=10.0, gamma_neg=1.0))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def build_classifier(head_cfg):
    return MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet', depth=18, stem_channels=16, base_channels=16,
                      out_indices=(3, )),  # 128 channels
        neck=dict(type='GlobalAveragePooling'),
        head=head_cfg))


def samples(labels):
    return [DataSample().set_gt_label(lab) for lab in labels]


def test_forward_is_cosine():
    head = build_head()
    x = torch.randn(4, 8) * 3
    cos = head((torch.randn(4, 8), x))  # tuple convention: last item used
    manual = F.normalize(x, dim=1) @ F.normalize(head.fc.weight, dim=1).t()
    torch.testing.assert_close(cos, manual)
    assert cos.abs().max() <= 1 + 1e-6
    # invariant to the feature and weight scales
    with torch.no_grad():
        head.fc.weight.mul_(7.0)
    torch.testing.assert_close(head((x * 0.01, )), manual, rtol=1e-5, atol=1e-6)


def test_scale_comes_from_loss():
    head = build_head()
    assert isinstance(head, MultiLabelCosineClsHead) and head.scale == 10.0
    assert MultiLabelCosineClsHead(num_classes=3, in_channels=4).scale == 23.0  # AAMLoss()
    with pytest.raises(ValueError, match='no positive scale'):
        build_head(loss=dict(type='AsymmetricLoss'))
    with pytest.raises(ValueError, match='num_classes'):
        build_head(num_classes=0)
    with pytest.raises(ValueError, match='GlobalAveragePooling'):
        build_head()((torch.randn(2, 8, 3, 3), ))


def test_predict_scores_and_thresholds(tmp_path):
    x = torch.randn(6, 8)
    head = build_head()
    cos = head((x, ))
    expected = torch.sigmoid(10.0 * cos)
    torch.testing.assert_close(cosine_scores(cos, 10.0), expected)

    preds = head.predict((x, ))
    scores = torch.stack([p.pred_score for p in preds])
    torch.testing.assert_close(scores, expected)
    for p, c in zip(preds, cos):  # default thr 0.5 <=> cos >= 0
        assert p.pred_label.tolist() == torch.where(c >= 0)[0].tolist()

    thr_list = [0.1, 0.3, 0.5, 0.7, 0.9]
    path = str(tmp_path / 'thr.json')
    save_thresholds(path, [f'c{i}' for i in range(K)], thr_list)
    for thr in (0.35, thr_list, path):
        head = build_head(thr=thr)
        cos = head((x, ))
        thr_t = torch.tensor(thr_list) if not isinstance(thr, float) else torch.full((K, ), thr)
        for p, score in zip(head.predict((x, )), torch.sigmoid(10.0 * cos)):
            assert p.pred_label.tolist() == torch.where(score >= thr_t)[0].tolist()
    assert torch.equal(build_head(thr=path).thr, torch.tensor(thr_list))
    assert 'thr' not in build_head(thr=thr_list).state_dict()

    head = build_head(topk=2)
    for p in head.predict((x, )):
        assert torch.equal(p.pred_label, p.pred_score.topk(2).indices)

    with pytest.raises(ValueError, match='thresholds for 5 classes'):
        build_head(thr=[0.5, 0.5])
    with pytest.raises(ValueError, match='not a number in'):
        build_head(thr=1.5)


def test_round_trip_in_image_classifier():
    torch.manual_seed(0)
    model = build_classifier(dict(type='MultiLabelCosineClsHead', num_classes=K,
                                  in_channels=128, loss=dict(type='AAMLoss', s=10.0)))
    inputs = torch.randn(3, 3, 32, 32)
    labels = [[0, 2], [4], []]
    data_samples = samples(labels)

    losses = model(inputs, data_samples, mode='loss')
    cos = model(inputs, mode='tensor')
    onehot = torch.zeros(3, K)
    for i, lab in enumerate(labels):
        onehot[i, lab] = 1
    model.eval()  # BN statistics do not depend on the call from here on
    cos = model(inputs, mode='tensor')
    expected = aam_loss(cos, onehot, s=10.0)
    torch.testing.assert_close(model.head.loss((model.extract_feat(inputs)), data_samples)['loss'],
                               expected)
    preds = model(inputs, samples(labels), mode='predict')
    torch.testing.assert_close(torch.stack([p.pred_score for p in preds]), torch.sigmoid(10 * cos))
    assert all(p.gt_label is not None for p in preds)

    # gradient reaches the backbone and the class weights
    model.train()
    model.zero_grad()
    losses = model(inputs, data_samples, mode='loss')
    losses['loss'].backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    assert model.head.fc.weight.grad.abs().sum() > 0

    # soft targets (mixup) go through gt_score
    soft = [DataSample().set_gt_score(torch.rand(K)) for _ in range(3)]
    assert torch.isfinite(model(inputs, soft, mode='loss')['loss'])
