"""AAMLoss and the plugin's heads (and the GAT neck) stay finite under fp16
and bf16 autocast: loss, gradients and scores, with large features (whose
squared norm overflows float16) and an all-negative sample; on both graph
backends for the graph layers. On CPU always, on CUDA where there is one."""
import pytest
import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.models.losses import AAMLoss

from .peer_head_utils import random_graph

K, C = 5, 64
AAM = dict(type='BatchSumLoss', loss=dict(type='AAMLoss', s=23.0, gamma_neg=1.0))
#: MMPretrain's ASL: log(clamp(p, 1e-8)) underflows in float16 unless the head gives it float32
ASL = dict(type='AsymmetricLoss', gamma_pos=0.0, gamma_neg=4.0, clip=0.05)
GRAPH = random_graph(K)
DECODER = dict(embed_dims=32, num_heads=4, ffn_dims=64)
HEADS = {
    'cosine': dict(type='MultiLabelCosineClsHead', in_channels=C, loss=AAM),
    'ml-decoder cosine': dict(type='MLDecoderHead', in_channels=C, normalized=True, loss=AAM,
                              **DECODER),
    'ml-decoder': dict(type='MLDecoderHead', in_channels=C, loss=ASL, **DECODER),
    'query2label cosine': dict(type='Query2LabelHead', in_channels=C, normalized=True, loss=AAM,
                               **DECODER),
    'query2label': dict(type='Query2LabelHead', in_channels=C, loss=ASL, **DECODER),
    'ml-gcn cosine': dict(type='MLGCNHead', in_channels=C, hidden_channels=32, graph=GRAPH,
                          normalized=True, loss=AAM),
    'ml-gcn': dict(type='MLGCNHead', in_channels=C, hidden_channels=32, graph=GRAPH, loss=ASL),
}
POOLED = ('cosine', )
DEVICES = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])


def graph_backends():
    """The graph backends that import here."""
    from mmpretrain_multilabel.models.utils.graph_layers import import_dgl, import_pyg
    found = []
    for name, load in (('dgl', import_dgl), ('pyg', import_pyg)):
        try:
            load()
            found.append(name)
        except Exception:  # noqa: BLE001  (a missing or broken optional backend)
            pass
    return found


def skip_without_kernels(device, dtype, name):
    if device == 'cpu' and dtype == torch.float16 and 'query2label' in name:
        pytest.skip('torch 2.2 has no float16 LayerNorm kernel on CPU (CPU autocast runs '
                    'LayerNorm in the input dtype; CUDA runs it in float32)')


def samples():
    return [DataSample().set_gt_label(labels) for labels in ([0, 2], [], [4])]


def assert_finite_step(module, x, dtype, device, forward):
    """Loss and gradients of ``forward`` under autocast, and the scores."""
    module = module.to(device)
    x = x.to(device).requires_grad_(True)
    with torch.autocast(device, dtype=dtype):
        loss = forward(module, x)['loss']
    loss.backward()
    assert torch.isfinite(loss), float(loss)
    assert torch.isfinite(x.grad).all()
    for name, p in module.named_parameters():
        assert p.grad is None or torch.isfinite(p.grad).all(), name


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
@pytest.mark.parametrize('name', sorted(HEADS))
def test_heads_are_finite_under_autocast(name, dtype, device):
    skip_without_kernels(device, dtype, name)
    torch.manual_seed(0)
    head = MODELS.build(dict(HEADS[name], num_classes=K))
    shape = (3, C) if name in POOLED else (3, C, 4, 4)
    x = torch.randn(shape) * 300  # |x|^2 ~ 6e6 > float16's 65504
    assert_finite_step(head, x, dtype, device,
                       lambda m, feats: m.loss((feats, ), samples()))
    with torch.autocast(device, dtype=dtype), torch.no_grad():
        preds = head.predict((x.to(device), ))
    scores = torch.stack([p.pred_score for p in preds]).float()
    assert torch.isfinite(scores).all() and ((scores >= 0) & (scores <= 1)).all()


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
@pytest.mark.parametrize('backend', graph_backends())
@pytest.mark.parametrize('layer_type', ['gat', 'gcn'])
def test_gat_neck_with_cosine_head_under_autocast(layer_type, backend, dtype, device):
    torch.manual_seed(0)
    neck = MODELS.build(dict(type='GATReweightNeck', in_channels=C, graph=GRAPH, num_classes=K,
                             layer_type=layer_type, hidden_channels=32, num_heads=2,
                             graph_backend=backend, out_type='pooled'))
    head = MODELS.build(dict(HEADS['cosine'], num_classes=K))
    model = torch.nn.ModuleDict(dict(neck=neck, head=head))
    x = torch.randn(3, C, 4, 4) * 300
    assert_finite_step(model, x, dtype, device,
                       lambda m, feats: m['head'].loss(m['neck']((feats, )), samples()))


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_aam_loss_on_saturated_half_precision_cosines(dtype, device):
    """Cosines of +-1 from a half-precision matmul (rounding may pass 1 by
    one ulp) with a large scale and focusing: finite loss and gradients."""
    feats = torch.randn(4, 16, device=device)
    weight = torch.cat([feats[:2], -feats[2:]])
    feats.requires_grad_(True)
    with torch.autocast(device, dtype=dtype):
        cos = torch.nn.functional.linear(torch.nn.functional.normalize(feats),
                                         torch.nn.functional.normalize(weight))
        loss = AAMLoss(s=64.0, gamma_pos=1.0, gamma_neg=4.0, clip=0.05)(
            cos, torch.eye(4, device=device))
    loss.backward()
    assert cos.dtype == dtype and loss.dtype == torch.float32
    assert torch.isfinite(loss) and torch.isfinite(feats.grad).all()
