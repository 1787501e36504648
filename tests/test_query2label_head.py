"""Query2LabelHead: the Q2L forward (against a plain reference), position
encoding, group-wise linear, shapes, gradients, cosine variant with AAM,
predict with thresholds, configs."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from mmpretrain_multilabel.models.heads import (
    Query2LabelHead,
    group_wise_linear,
    sine_position_encoding,
)
from mmpretrain_multilabel.utils import save_thresholds

from .peer_head_utils import config_head_loss, config_one_iteration, tiny_classifier

SMALL = dict(embed_dims=16, num_heads=2, ffn_dims=24)
AAM = dict(type='AAMLoss', s=12.0, gamma_neg=1.0)


def build_head(num_classes=6, in_channels=8, **kwargs):
    torch.manual_seed(0)
    cfg = dict(type='Query2LabelHead', num_classes=num_classes, in_channels=in_channels, **SMALL)
    cfg.update(kwargs)
    return MODELS.build(cfg)


# ------------------------------------------------------------ references ----
def detr_position_encoding(h, w, dims, temperature=10000., eps=1e-6):
    """DETR's PositionEmbeddingSine(normalize=True) on an unpadded map,
    ``[1, D, H, W]`` flattened to ``[H*W, D]``."""
    not_mask = torch.ones(1, h, w)
    y_embed = not_mask.cumsum(1)
    x_embed = not_mask.cumsum(2)
    y_embed = y_embed / (y_embed[:, -1:, :] + eps) * 2 * math.pi
    x_embed = x_embed / (x_embed[:, :, -1:] + eps) * 2 * math.pi
    npf = dims // 2
    dim_t = torch.arange(npf, dtype=torch.float32)
    dim_t = temperature**(2 * (dim_t // 2) / npf)
    pos_x = x_embed[:, :, :, None] / dim_t
    pos_y = y_embed[:, :, :, None] / dim_t
    pos_x = torch.stack((pos_x[:, :, :, 0::2].sin(), pos_x[:, :, :, 1::2].cos()), dim=4).flatten(3)
    pos_y = torch.stack((pos_y[:, :, :, 0::2].sin(), pos_y[:, :, :, 1::2].cos()), dim=4).flatten(3)
    pos = torch.cat((pos_y, pos_x), dim=3).permute(0, 3, 1, 2)
    return pos.flatten(2)[0].t()


def attention(q_in, k_in, v_in, mha):
    """Multi-head attention written out from ``mha``'s weights."""
    heads, dims = mha.num_heads, q_in.shape[-1]
    wq, wk, wv = mha.in_proj_weight.chunk(3)
    bq, bk, bv = mha.in_proj_bias.chunk(3)

    def split(t):
        return t.reshape(t.shape[0], t.shape[1], heads, dims // heads).transpose(1, 2)

    q, k, v = split(q_in @ wq.t() + bq), split(k_in @ wk.t() + bk), split(v_in @ wv.t() + bv)
    a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dims // heads), dim=-1)
    o = (a @ v).transpose(1, 2).reshape(q_in.shape)
    return o @ mha.out_proj.weight.t() + mha.out_proj.bias


def layer_norm(x, ln):
    return F.layer_norm(x, ln.normalized_shape, ln.weight, ln.bias, ln.eps)


def ffn(x, seq):
    return F.linear(F.relu(F.linear(x, seq[0].weight, seq[0].bias)), seq[3].weight, seq[3].bias)


def q2l_reference(head, x):
    """Q2L's forward (DETR post-norm transformer, decoder without
    self-attention, zero targets with label embeddings as query position,
    GroupWiseLinear), evaluation mode, from the head's parameters."""
    b, _, h, w = x.shape
    src = x.flatten(2).transpose(1, 2) @ head.input_proj.weight.t() + head.input_proj.bias
    pos = detr_position_encoding(h, w, head.embed_dims)
    for layer in head.encoder:
        q = src + pos
        src = layer_norm(src + attention(q, q, src, layer.attn), layer.norm1)
        src = layer_norm(src + ffn(src, layer.ffn), layer.norm2)
    query_pos = head.query_embed.weight
    tgt = torch.zeros(b, head.num_classes, head.embed_dims)
    for layer in head.decoder:
        tgt = layer_norm(tgt + attention(tgt + query_pos, src + pos, src, layer.attn),
                         layer.norm1)
        tgt = layer_norm(tgt + ffn(tgt, layer.ffn), layer.norm2)
    hs = layer_norm(tgt, head.decoder_norm)
    if head.normalized:
        return (F.normalize(hs, dim=-1) * F.normalize(head.fc_weight, dim=-1)).sum(-1)
    return (head.fc_weight * hs).sum(-1) + head.fc_bias


# ----------------------------------------------------------------- tests ----
@pytest.mark.parametrize('hw', [(4, 4), (3, 5), (1, 1)])
def test_sine_position_encoding_matches_detr(hw):
    torch.testing.assert_close(sine_position_encoding(*hw, 16), detr_position_encoding(*hw, 16))


@pytest.mark.parametrize('normalized', [False, True])
@pytest.mark.parametrize('enc,dec', [(0, 1), (1, 2), (2, 1)])
def test_matches_reference_forward(normalized, enc, dec):
    head = build_head(num_encoder_layers=enc, num_decoder_layers=dec, normalized=normalized,
                      loss=AAM if normalized else None).eval()
    assert len(head.encoder) == enc and len(head.decoder) == dec
    x = torch.randn(3, 8, 3, 5)
    with torch.no_grad():
        out = head((x, ))
        torch.testing.assert_close(out, q2l_reference(head, x), rtol=1e-4, atol=1e-5)
    assert out.shape == (3, 6)


def test_group_wise_linear_matches_per_class_loop():
    h, w, b = torch.randn(4, 5, 7), torch.randn(5, 7), torch.randn(5)
    loop = torch.stack([h[:, k] @ w[k] + b[k] for k in range(5)], dim=1)
    torch.testing.assert_close(group_wise_linear(h, w, b), loop)
    cos = torch.stack([F.cosine_similarity(h[:, k], w[k][None], dim=-1) for k in range(5)], 1)
    torch.testing.assert_close(group_wise_linear(h, w, None, normalized=True), cos)


def test_inputs_and_shapes():
    head = build_head().eval()
    x = torch.randn(2, 8, 4, 3)
    with torch.no_grad():
        ref = head(x)
        # MMPretrain passes a tuple of stages: the last one is used
        torch.testing.assert_close(head((torch.randn(2, 3, 5, 5), x)), ref)
        assert head.pre_logits((x, )).shape == (2, 6, 16)
    with pytest.raises(ValueError, match=r'feature map \[B, C, H, W\]'):
        head((torch.randn(2, 8), ))
    with pytest.raises(ValueError, match='in_channels=8'):
        head((torch.randn(2, 5, 4, 4), ))


@pytest.mark.parametrize('kwargs,match', [
    (dict(embed_dims=18), 'multiple of 4'),
    (dict(embed_dims=16, num_heads=3), 'num_heads=3'),
    (dict(num_decoder_layers=0), 'num_decoder_layers'),
    (dict(num_encoder_layers=-1), 'num_encoder_layers'),
    (dict(dropout=1.0), 'dropout'),
])
def test_bad_settings_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_head(**kwargs)


def test_initialisation_as_original():
    head = build_head(num_classes=40, embed_dims=64, num_heads=4)
    bound = 64**-0.5
    assert head.fc_weight.abs().max() <= bound and head.fc_bias.abs().max() <= bound
    assert head.fc_weight.std() > bound / 3  # uniform, not zeros
    w = head.encoder[0].attn.in_proj_weight  # xavier-uniform [3D, D]
    assert w.abs().max() <= math.sqrt(6 / (64 + 192)) + 1e-6
    assert 0.8 < head.query_embed.weight.std() < 1.2  # N(0, 1) label embeddings
    assert head.query_embed.weight.requires_grad  # learnable queries (unlike ML-Decoder)


@pytest.mark.parametrize('normalized', [False, True])
def test_gradients_reach_queries_transformer_and_backbone(normalized):
    torch.manual_seed(0)
    head = dict(type='Query2LabelHead', num_classes=5, in_channels=16, normalized=normalized,
                loss=AAM if normalized else dict(type='AsymmetricLoss'), **SMALL)
    model = tiny_classifier(head).train()
    samples = [DataSample().set_gt_label([0, 2]), DataSample().set_gt_label([4])]
    losses = model.loss(torch.randn(2, 3, 32, 32), samples)
    loss = sum(losses.values())
    assert torch.isfinite(loss)
    loss.backward()
    q2l = model.head
    for name, p in [('queries', q2l.query_embed.weight),
                    ('encoder', q2l.encoder[0].attn.in_proj_weight),
                    ('decoder', q2l.decoder[-1].attn.in_proj_weight),
                    ('decoder ffn', q2l.decoder[0].ffn[0].weight),
                    ('input proj', q2l.input_proj.weight), ('fc', q2l.fc_weight),
                    ('backbone', model.backbone.conv1.weight)]:
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert (q2l.fc_bias is None) == normalized


def test_normalized_with_aam():
    head = build_head(normalized=True, loss=AAM).eval()
    x = torch.randn(4, 8, 3, 3)
    with torch.no_grad():
        cos = head((x, ))
    assert cos.abs().max() <= 1 + 1e-5 and head.fc_bias is None
    assert head.scale == 12.0
    with pytest.raises(ValueError, match='normalized=True'):
        build_head(loss=AAM)  # AAM needs cosines
    with pytest.raises(ValueError, match='no positive scale'):
        build_head(normalized=True)  # BCE has no scale s


@pytest.mark.parametrize('normalized', [False, True])
def test_predict_with_thresholds(tmp_path, normalized):
    kwargs = dict(normalized=normalized, loss=AAM if normalized else None)
    x = torch.randn(3, 8, 2, 2)
    base = build_head(**kwargs).eval()
    with torch.no_grad():
        raw = base((x, ))
    scores = torch.sigmoid(12.0 * raw if normalized else raw)
    thr = [0.2, 0.4, 0.5, 0.6, 0.8, 0.3]
    path = str(tmp_path / 'thr.json')
    save_thresholds(path, [f'c{i}' for i in range(6)], thr)
    for spec in (thr, path):
        head = build_head(thr=spec, **kwargs).eval()
        head.load_state_dict(base.state_dict())
        with torch.no_grad():
            preds = head.predict((x, ))
        for i, sample in enumerate(preds):
            torch.testing.assert_close(sample.pred_score, scores[i])
            expected = torch.nonzero(scores[i] >= torch.tensor(thr)).flatten()
            assert sample.pred_label.tolist() == expected.tolist()
    head = build_head(topk=2, **kwargs).eval()
    head.load_state_dict(base.state_dict())
    with torch.no_grad():
        preds = head.predict((x, ))
    assert [sorted(p.pred_label.tolist()) for p in preds] == \
        [sorted(scores[i].topk(2).indices.tolist()) for i in range(3)]


def test_head_is_registered():
    assert MODELS.get('Query2LabelHead') is Query2LabelHead


@pytest.mark.parametrize('config,num_classes,paper', [
    ('configs/q2l/effv2s_q2l-asl_2xb42_coco-448px.py', 80, (87.35, 16.25)),
    ('configs/q2l/effv2s_q2l-asl_2xb42_voc07-448px.py', 20, (94.94, 15.40)),
    ('configs/q2l/effv2s_q2l-asl_2xb42_nus-wide-448px.py', 81, (65.79, 16.25)),
])
def test_paper_configs(config, num_classes, paper):
    """Each paper config: the paper's row, the authors' Q2L for this backbone,
    ASL at the paper's LR (VOC: difficult labels as negatives); its head
    trains on a 1280-channel map (tests/test_paper_configs.py runs every paper
    config's whole model one iteration)."""
    cfg, head, loss = config_head_loss(config)
    assert isinstance(head, Query2LabelHead) and cfg.model.neck is None
    assert head.num_classes == num_classes == cfg.data_preprocessor.num_classes
    assert (head.embed_dims, len(head.encoder), len(head.decoder)) == (1280, 1, 2)
    assert head.decoder[0].ffn[0].out_features == 1280
    assert (cfg.paper_reference.mAP, cfg.paper_reference.gflops) == paper
    assert cfg.paper_reference.shape == 448
    assert cfg.model.head.loss.type == 'BatchSumLoss'  # summed, as the authors'
    assert cfg.model.head.loss.loss.type == 'AsymmetricLoss'
    # the paper's ASL LR, once: OneCycle peaks at the optimizer's lr
    assert cfg.optim_wrapper.optimizer.lr == 1e-4 and 'eta_max' not in cfg.param_scheduler
    assert cfg.optim_wrapper.type == 'SAMOptimWrapper'
    marks = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'MarkIgnoredLabels']
    assert [t.ignore_as for t in marks] == ([0] if num_classes == 20 else [])
    assert torch.isfinite(loss)
    loss.backward()
    assert head.query_embed.weight.grad is not None


def test_coco_paper_config_runs_one_iteration():
    """The whole EfficientNetV2-s + Q2L model of the COCO config, one step of
    the config's SAM optimizer at 64 px."""
    cfg, model, log_vars = config_one_iteration('configs/q2l/effv2s_q2l-asl_2xb42_coco-448px.py',
                                                size=64)
    assert isinstance(model.head, Query2LabelHead) and model.neck is None
    assert torch.isfinite(log_vars['loss'])


def test_demo_config_runs_one_iteration():
    cfg, model, log_vars = config_one_iteration(
        'configs/demo/lite0_q2l-aam_1xb32_demo-128px.py', size=64)
    assert isinstance(model.head, Query2LabelHead) and model.head.normalized
    assert model.head.num_classes == 14
    assert torch.isfinite(log_vars['loss'])
