"""MLDecoderHead: original equivalence, shapes, groups, cosine variant,
frozen queries, thresholds, training through a backbone, ONNX export."""
import math
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.models.heads import MLDecoderHead, MultiLabelCosineClsHead, group_fc
from mmpretrain_multilabel.models.utils.ml_decoder_original import (
    OriginalMLDecoder,
    original_from_head,
)
from mmpretrain_multilabel.utils import save_thresholds
from mmpretrain_multilabel.utils.torch_compat import onnx_export_kwargs

SMALL = dict(embed_dims=32, num_heads=4, ffn_dims=64)
AAM = dict(type='AAMLoss', s=12.0, gamma_neg=1.0)


def build_head(num_classes=10, in_channels=16, **kwargs):
    cfg = dict(type='MLDecoderHead', num_classes=num_classes, in_channels=in_channels, **SMALL)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def load_from_original(head, ref):
    """Copy the original-layout parameters into the head (names as the converter maps them)."""
    d = ref.decoder
    state = {'embed.weight': d.embed_standart.weight, 'embed.bias': d.embed_standart.bias,
             'query_embed': d.query_embed.weight, 'group_weight': d.duplicate_pooling}
    if head.group_bias is not None:
        state['group_bias'] = d.duplicate_pooling_bias
    for name, value in d.layers.state_dict().items():
        state['layers.' + name] = value
    head.load_state_dict(state, strict=True)


@pytest.mark.parametrize('normalized', [False, True])
@pytest.mark.parametrize('num_classes,groups,layers', [(10, -1, 1), (23, 4, 2)])
def test_matches_original_forward(normalized, num_classes, groups, layers):
    torch.manual_seed(0)
    ref = OriginalMLDecoder(num_classes, num_of_groups=groups, decoder_embedding=64,
                            initial_num_features=16, num_layers=layers,
                            normalized=normalized).eval()
    with torch.no_grad():  # non-zero bias so that it is compared too
        ref.decoder.duplicate_pooling_bias.normal_()
    head = build_head(num_classes, 16, embed_dims=64, num_heads=8, ffn_dims=2048,
                      num_groups=None if groups < 0 else groups, num_layers=layers,
                      normalized=normalized, loss=AAM if normalized else dict(
                          type='CrossEntropyLoss', use_sigmoid=True))
    load_from_original(head, ref)
    head.eval()
    x = torch.randn(3, 16, 5, 4)
    torch.testing.assert_close(head((x, )), ref(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('normalized', [False, True])
def test_original_from_head_carries_the_heads_weights(normalized):
    """The benchmark's reference: the original layout loaded with a head's
    weights computes the head's outputs; a head it cannot express is refused."""
    torch.manual_seed(0)
    head = build_head(23, 16, embed_dims=64, num_heads=8, ffn_dims=2048, num_groups=4,
                      num_layers=2, normalized=normalized,
                      loss=AAM if normalized else None).eval()
    ref = original_from_head(head)
    assert not ref.training
    x = torch.randn(3, 16, 5, 4)
    torch.testing.assert_close(ref(x), head((x, )), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match='8 attention heads'):
        original_from_head(build_head())


def test_map_and_token_inputs():
    head = build_head(num_classes=7).eval()
    x = torch.randn(2, 16, 3, 5)
    out_map = head((x, ))
    out_tok = head((torch.randn(1), x.flatten(2).transpose(1, 2)))  # tuple: last item
    assert out_map.shape == (2, 7)
    torch.testing.assert_close(out_map, out_tok)
    assert head(x).shape == (2, 7)  # a bare tensor works too
    with pytest.raises(ValueError, match='feature map'):
        head((torch.randn(2, 16), ))
    with pytest.raises(ValueError, match='in_channels=16'):
        head((torch.randn(2, 8, 3, 3), ))


@pytest.mark.parametrize('num_classes,num_groups,groups,size', [
    (20, None, 20, 1),     # default min(100, K)
    (5, 100, 5, 1),        # K < groups: capped at K
    (250, None, 100, 3),   # K > groups: ceil(250 / 100) = 3 per group
    (50, 8, 8, 7),         # 8 * 7 = 56 outputs, first 50 kept
])
def test_groups(num_classes, num_groups, groups, size):
    head = build_head(num_classes, num_groups=num_groups).eval()
    assert head.num_groups == groups and head.group_size == size
    assert head.query_embed.shape == (groups, 32)
    assert head.group_weight.shape == (groups, 32, size)
    assert head((torch.randn(2, 16, 2, 2), )).shape == (2, num_classes)


def test_batched_group_fc_equals_loop():
    torch.manual_seed(0)
    h, w, b = torch.randn(4, 6, 10), torch.randn(6, 10, 3), torch.randn(17)
    for normalized in (False, True):
        out = group_fc(h, w, None if normalized else b, 17, normalized)
        loop = torch.zeros(4, 6, 3)
        for i in range(6):
            hi, wi = h[:, i], w[i]
            if normalized:
                hi, wi = F.normalize(hi, dim=1), F.normalize(wi, dim=0)
            loop[:, i] = hi @ wi
        loop = loop.flatten(1)[:, :17]
        torch.testing.assert_close(out, loop if normalized else loop + b)


def test_initialisation_as_original():
    head = build_head(num_classes=200, num_groups=50, embed_dims=256, num_heads=8)
    fan_in, fan_out = 256 * 4, 50 * 4  # xavier on [L, D, dup]: receptive field = dup
    std = math.sqrt(2.0 / (fan_in + fan_out))
    assert abs(head.group_weight.std().item() / std - 1) < 0.05
    assert abs(head.group_weight.mean().item()) < 0.1 * std
    assert torch.all(head.group_bias == 0)
    assert abs(head.query_embed.std().item() - 1) < 0.05  # nn.Embedding's N(0, 1)
    layer = head.layers[0]
    assert torch.all(layer.multihead_attn.in_proj_bias == 0)  # PyTorch's MHA init
    assert torch.all(layer.norm1.weight == 1)


def test_normalized_variant():
    plain = build_head()
    cosine = build_head(normalized=True, loss=AAM).eval()
    assert plain.group_bias is not None and cosine.group_bias is None
    assert 'group_bias' not in cosine.state_dict()
    x = torch.randn(3, 16, 2, 2)
    out = cosine((x, ))
    h = cosine.pre_logits((x, ))
    manual = torch.stack([F.normalize(h[:, i], dim=1) @ F.normalize(cosine.group_weight[i], dim=0)
                          for i in range(h.shape[1])], 1).flatten(1)[:, :10]
    torch.testing.assert_close(out, manual, rtol=1e-5, atol=1e-6)
    assert out.abs().max() <= 1 + 1e-5
    preds = cosine.predict((x, ))
    torch.testing.assert_close(torch.stack([p.pred_score for p in preds]),
                               torch.sigmoid(12.0 * out))
    with pytest.raises(ValueError, match='normalized=True'):
        build_head(loss=AAM)  # AAM on logits
    with pytest.raises(ValueError, match='no positive scale'):
        build_head(normalized=True)  # cosines into BCE
    with pytest.raises(ValueError, match='divisible'):
        build_head(embed_dims=30, num_heads=4)
    with pytest.raises(ValueError, match='num_groups'):
        build_head(num_groups=0)


def test_leaky_relu_activation():
    head = build_head(act_cfg=dict(type='LeakyReLU', negative_slope=0.2))
    assert isinstance(head.act, torch.nn.LeakyReLU) and head.act.negative_slope == 0.2


def test_predict_thresholds(tmp_path):
    x = torch.randn(4, 16, 2, 2)
    base = build_head(num_classes=4).eval()
    logits = base((x, ))
    thr_list = [0.2, 0.4, 0.6, 0.8]
    path = str(tmp_path / 'thr.json')
    save_thresholds(path, list('abcd'), thr_list)
    for thr in (0.45, thr_list, path):
        head = build_head(num_classes=4, thr=thr).eval()
        head.load_state_dict(base.state_dict())
        thr_t = torch.full((4, ), thr) if isinstance(thr, float) else torch.tensor(thr_list)
        for p, score in zip(head.predict((x, )), torch.sigmoid(logits)):
            torch.testing.assert_close(p.pred_score, score)
            assert p.pred_label.tolist() == torch.where(score >= thr_t)[0].tolist()


def build_classifier(**head_kwargs):
    head = dict(type='MLDecoderHead', num_classes=6, in_channels=128, **SMALL)
    head.update(head_kwargs)
    return MODELS.build(dict(type='ImageClassifier',
                             backbone=dict(type='ResNet', depth=18, stem_channels=16,
                                           base_channels=16, out_indices=(3, )),  # 128 ch.
                             head=head))


@pytest.mark.parametrize('normalized', [False, True])
def test_training_reaches_backbone_and_queries_stay_frozen(normalized):
    torch.manual_seed(0)
    model = build_classifier(normalized=normalized, loss=AAM if normalized else dict(
        type='AsymmetricLoss', gamma_neg=4.0, gamma_pos=0.0, clip=0.05))
    head = model.head
    assert not any(p is head.query_embed for p in model.parameters())
    queries = head.query_embed.clone()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=1e-2, momentum=0.9)
    inputs = torch.randn(2, 3, 64, 64)
    data_samples = [DataSample().set_gt_label([0, 3]), DataSample().set_gt_label([5])]
    before = head.group_weight.detach().clone()
    for _ in range(2):
        optimizer.zero_grad()
        loss = model(inputs, data_samples, mode='loss')['loss']
        loss.backward()
        assert model.backbone.conv1.weight.grad.abs().sum() > 0
        assert head.embed.weight.grad.abs().sum() > 0
        optimizer.step()
    assert torch.equal(head.query_embed, queries)
    assert not torch.equal(head.group_weight, before)
    model.eval()
    preds = model(inputs, mode='predict')
    assert len(preds) == 2 and preds[0].pred_score.shape == (6, )


@pytest.mark.parametrize('normalized', [False, True])
def test_onnx_export_matches_onnxruntime(tmp_path, normalized):
    ort = pytest.importorskip('onnxruntime')
    torch.manual_seed(0)
    model = build_classifier(normalized=normalized,
                             loss=AAM if normalized else dict(type='CrossEntropyLoss',
                                                             use_sigmoid=True)).eval()
    x = torch.randn(2, 3, 64, 64)
    path = str(tmp_path / 'model.onnx')
    torch.onnx.export(model, (x, ), path, opset_version=17, input_names=['input'],
                      output_names=['scores'], dynamic_axes={'input': {0: 'batch'}},
                      **onnx_export_kwargs())
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    x2 = torch.randn(3, 3, 64, 64)  # another batch size through the dynamic axis
    for inp in (x, x2):
        with torch.no_grad():
            expected = model(inp, mode='tensor').numpy()
        got = session.run(None, {'input': inp.numpy()})[0]
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_config_fragments():
    from mmengine.config import Config
    root = osp.join(osp.dirname(__file__), '..', 'configs', '_base_', 'models')

    def base(*path):
        return Config.fromfile(osp.join(root, *path))

    # the paper's values (Sec. 4; ASL gamma naming), m=0 and k=0.7 everywhere
    paper = dict(aam_coco=(23, 1, 0), aam_voc=(17, 2, 1), aam_nus_wide=(23, 2, 1),
                 aam_vg500=(25, 1, 0), aam_coco_s10=(10, 1, 0))
    for name, (s, gamma_neg, gamma_pos) in paper.items():
        loss = MODELS.build(base('losses', name + '.py').loss)  # summed, as the authors'
        assert type(loss).__name__ == 'BatchSumLoss'
        assert (loss.s, loss.gamma_neg, loss.gamma_pos, loss.m, loss.k, loss.clip) == \
            (s, gamma_neg, gamma_pos, 0.0, 0.7, 0.0)
    asl = base('losses', 'asl_paper.py').loss.loss
    assert (asl.type, asl.gamma_neg, asl.gamma_pos, asl.clip) == ('AsymmetricLoss', 4.0, 0.0, 0.05)
    assert base('losses', 'asl.py').loss == asl  # the stock baselines: the same, batch mean
    aam_coco = base('losses', 'aam_coco.py').loss
    backbone = dict(base('backbones', 'effv2s.py').backbone, init_cfg=None)  # offline
    model_cfg = base('heads', 'ml_decoder_cosine.py').model
    model_cfg.backbone = backbone
    model_cfg.head.update(num_classes=80, loss=aam_coco)
    model = MODELS.build(model_cfg).eval()
    assert isinstance(model.head, MLDecoderHead) and model.head.scale == 23.0
    assert isinstance(model.head.act, torch.nn.LeakyReLU)
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 64), mode='tensor')
    assert out.shape == (1, 80) and out.abs().max() <= 1 + 1e-5
    # the ASL rows' ML-Decoder, the base the cosine one composes from
    plain = base('heads', 'ml_decoder.py').model.head
    assert (plain.normalized, plain.act_cfg) == (False, dict(type='ReLU'))
    head = MODELS.build(dict(base('heads', 'cosine.py').model.head, num_classes=80,
                             loss=aam_coco))
    assert isinstance(head, MultiLabelCosineClsHead) and head.scale == 23.0
    assert head((torch.randn(2, 1280), )).shape == (2, 80)
