"""GATReweightNeck: layer types, output formula, eval cache, gradients,
graph checks, ONNX export, FLOPs, lazy graph-library import, config
fragments (on the default graph backend; tests/test_graph_backends.py
compares the backends)."""
import copy
import importlib.util
import io
import os.path as osp
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import mmpretrain_multilabel  # noqa: F401  registers the components
from mmpretrain_multilabel.graph import LabelGraphError, build_label_graph
from mmpretrain_multilabel.models.necks import GATReweightNeck
from mmpretrain_multilabel.utils.torch_compat import onnx_export_kwargs

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
K, N, S = 5, 6, 8


def arrays(seed=0, k=K, n=N):
    rng = np.random.RandomState(seed)
    adj = (rng.rand(k, k) < 0.4).astype(np.float32)
    np.fill_diagonal(adj, 0)
    return dict(node_features=rng.randn(k, n).astype(np.float32),
                adjacency=adj)


def make_neck(**kw):
    torch.manual_seed(0)
    kw.setdefault('graph', arrays())
    kw.setdefault('hidden_channels', 8)
    kw.setdefault('num_heads', 2)
    return GATReweightNeck(S, **kw)


def test_layer_type_switches_layer_class():
    from mmpretrain_multilabel.models.utils import GATLayer, GCNLayer
    gat = make_neck(layer_type='gat', num_layers=3)
    gcn = make_neck(layer_type='gcn', num_layers=3)
    assert all(type(m) is GATLayer for m in gat.layers)
    assert all(type(m) is GCNLayer for m in gcn.layers)
    assert len(gat.layers) == len(gcn.layers) == 3
    assert gat.layers[-1].out_channels == S and gcn.layers[-1].out_channels == S
    assert [m.num_heads for m in gat.layers] == [2, 2, 2]
    assert gat.graph_backend in ('dgl', 'pyg')


def test_gcn_matches_plain_mlgcn():
    """ML-GCN: adj = D A^T D with D = rowsum(A)^-1/2 (gen_adj), two layers
    with LeakyReLU(0.2); then max over nodes and sigmoid (the paper)."""
    g = arrays(1)
    a = g['adjacency'] + np.eye(K, dtype=np.float32)  # self loops
    neck = make_neck(graph=dict(node_features=g['node_features'],
                                adjacency=a), layer_type='gcn').eval()
    d = np.diag(a.sum(1)**-0.5)
    adj = torch.tensor(d @ a.T @ d, dtype=torch.float32)
    x = torch.tensor(g['node_features'])
    w1, w2 = neck.layers[0].weight, neck.layers[1].weight
    h = F.leaky_relu(adj @ (x @ w1), 0.2)
    h = adj @ (h @ w2)
    expect = torch.sigmoid(h.max(0).values)
    torch.testing.assert_close(neck.channel_weights(), expect)


def test_output_formulas():
    f = torch.randn(2, S, 4, 3)
    pooled = make_neck(out_type='pooled').eval()
    w = pooled.channel_weights().view(1, -1, 1, 1)
    expect = (w * f).mean((2, 3)) + (w * f).amax((2, 3))
    out = pooled((f, ))
    assert isinstance(out, tuple) and len(out) == 1
    torch.testing.assert_close(out[0], expect)
    mapped = make_neck(out_type='map').eval()
    torch.testing.assert_close(mapped((f, ))[0],
                               mapped.channel_weights().view(1, -1, 1, 1) * f)
    assert isinstance(mapped(f), torch.Tensor)  # tensor in, tensor out
    assert ((w > 0) & (w < 1)).all()


def test_cached_and_uncached_outputs_identical():
    neck = make_neck().eval()
    f = torch.randn(3, S, 2, 2)
    calls = []
    orig = neck.compute_channel_weights

    def counting():
        calls.append(1)
        return orig()

    neck.compute_channel_weights = counting
    first = neck((f, ))[0]
    second = neck((f, ))[0]
    assert len(calls) == 1  # computed once, then cached
    uncached = orig().view(1, -1, 1, 1)
    expect = (uncached * f).mean((2, 3)) + (uncached * f).amax((2, 3))
    torch.testing.assert_close(first, expect)
    assert torch.equal(first, second)
    # train mode never caches
    neck.train()
    neck((f, ))
    neck((f, ))
    assert len(calls) == 3


def test_cache_invalidation():
    neck = make_neck().eval()
    w0 = neck.channel_weights().clone()
    # an optimizer step changes parameters in place
    opt = torch.optim.SGD(neck.parameters(), lr=1.0)
    neck.train()
    neck.channel_weights().sum().backward()
    neck.eval()
    w_before = neck.channel_weights().clone()
    opt.step()
    w_after = neck.channel_weights()
    assert not torch.equal(w_after, w_before)
    torch.testing.assert_close(w_after, neck.compute_channel_weights())
    # loading weights
    neck.load_state_dict(make_neck().state_dict())
    torch.testing.assert_close(neck.channel_weights(), w0)
    # in-place edit of a parameter without an optimizer
    with torch.no_grad():
        neck.layers[0].fc.weight.mul_(2)
    torch.testing.assert_close(neck.channel_weights(),
                               neck.compute_channel_weights())
    # dtype change (replaces storage)
    neck.double()
    assert neck.channel_weights().dtype == torch.float64


def test_gradients_reach_graph_parameters_in_train_mode():
    for layer_type in ('gat', 'gcn'):
        neck = make_neck(layer_type=layer_type).train()
        out = neck((torch.randn(2, S, 3, 3), ))[0]
        out.pow(2).sum().backward()
        params = list(neck.layers.named_parameters())
        assert params
        for name, p in params:
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_deepcopy_for_ema():
    neck = make_neck().eval()
    f = torch.randn(1, S, 2, 2)
    out = neck((f, ))[0]
    assert set(neck._eval_cache) == {'channel_weights',
                                     f'{neck.graph_backend}_graph'}
    # copies start with an empty cache (the graph is rebuilt, not copied)
    for twin in (copy.deepcopy(neck), pickle.loads(pickle.dumps(neck))):
        assert not twin._eval_cache
        torch.testing.assert_close(twin((f, ))[0], out)
    neck.train()
    assert not neck._eval_cache


def test_graph_checks_at_build_time(tmp_path):
    with pytest.raises(LabelGraphError, match='num_classes=7 .* K=5'):
        make_neck(num_classes=7)
    with pytest.raises(LabelGraphError, match='feature_dim=300 .* 6-d'):
        make_neck(feature_dim=300)
    bad = arrays()
    bad['node_features'][1, 2] = np.nan
    with pytest.raises(LabelGraphError, match='NaN'):
        make_neck(graph=bad)
    with pytest.raises(LabelGraphError, match='must be'):
        make_neck(graph=dict(node_features=np.ones((5, 3)),
                             adjacency=np.ones((4, 4))))
    with pytest.raises(LabelGraphError, match='keys'):
        make_neck(graph=dict(word_vectors='glove-6b-50d'))
    with pytest.raises(ValueError, match='layer_type'):
        make_neck(layer_type='sage')
    with pytest.raises(ValueError, match='divisible'):
        make_neck(hidden_channels=7, num_heads=2)
    # a graph file: K of the file is checked against num_classes
    g = build_label_graph(list('abcde'), [[0, 1], [2], [3, 4], [0, 4]],
                          np.ones((5, 3)))
    path = g.save(str(tmp_path / 'g.npz'))
    assert make_neck(graph=path, num_classes=5).num_classes == 5
    with pytest.raises(LabelGraphError, match='K=5'):
        make_neck(graph=path, num_classes=20)
    # a missing-key file
    np.savez(tmp_path / 'bad.npz', classes=np.array(list('abcde')))
    with pytest.raises(LabelGraphError, match='missing keys'):
        make_neck(graph=str(tmp_path / 'bad.npz'))


def test_channel_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match=r'\[B, 8, H, W\].*backbone'):
        make_neck().eval()((torch.randn(1, 16, 2, 2), ))


class TinyNet(nn.Module):
    """conv backbone -> neck -> linear head."""

    def __init__(self, neck=None, head=True):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, S, 3, padding=1),
                                      nn.BatchNorm2d(S), nn.ReLU())
        self.neck = neck
        self.head = nn.Linear(S, K) if head else None

    def forward(self, x):
        f = self.backbone(x)
        if self.neck is None:
            return f
        out = self.neck((f, ))[0]
        return self.head(out) if self.head is not None else out


def test_onnx_export_folds_channel_weights():
    onnx = pytest.importorskip('onnx')
    ort = pytest.importorskip('onnxruntime')
    from onnx import numpy_helper
    model = TinyNet(make_neck()).eval()
    x = torch.randn(2, 3, 8, 8)
    buf = io.BytesIO()
    torch.onnx.export(model, x, buf, input_names=['x'], output_names=['y'],
                      opset_version=13,
                      dynamic_axes={'x': {0: 'b'}, 'y': {0: 'b'}}, **onnx_export_kwargs())
    graph = onnx.load_from_string(buf.getvalue()).graph
    ops = [n.op_type for n in graph.node]
    # only the backbone, the pooling and the head: no graph layers
    gat_ops = {'MatMul', 'Softmax', 'LeakyRelu', 'Exp', 'ScatterElements',
               'ScatterND', 'GatherElements', 'Sigmoid', 'Elu'}
    assert not gat_ops & set(ops), ops
    assert ops.count('Gemm') == 1  # the head
    consts = [numpy_helper.to_array(a.t) for n in graph.node
              if n.op_type == 'Constant' for a in n.attribute if a.name == 'value']
    consts += [numpy_helper.to_array(t) for t in graph.initializer]
    w = model.neck.channel_weights().numpy()
    assert any(c.size == S and np.allclose(c.reshape(-1), w) for c in consts)
    sess = ort.InferenceSession(buf.getvalue())
    for batch in (2, 3):
        xb = torch.randn(batch, 3, 8, 8)
        got = sess.run(None, {'x': xb.numpy()})[0]
        np.testing.assert_allclose(got, model(xb).detach().numpy(),
                                   rtol=1e-4, atol=1e-5)


def _flops(model, x):
    from mmengine.analysis import get_model_complexity_info
    return get_model_complexity_info(model, inputs=(x, ), show_table=False,
                                     show_arch=False)['flops']


def test_flops_equal_the_plain_model():
    from mmpretrain.models.necks import GlobalAveragePooling
    x = torch.randn(1, 3, 8, 8)
    gat = TinyNet(make_neck(), head=False).eval()
    gap = TinyNet(GlobalAveragePooling(), head=False).eval()
    gap.backbone = gat.backbone
    plain = TinyNet(None).eval()
    plain.backbone = gat.backbone
    mapped = TinyNet(make_neck(out_type='map'), head=False).eval()
    mapped.backbone = gat.backbone
    assert _flops(gat, x) == _flops(gap, x)  # backbone + its GAP
    assert _flops(mapped, x) == _flops(plain, x)  # backbone alone
    # the counter does see the graph branch when it runs (train mode)
    assert _flops(gat.train(), x) > _flops(gap, x)


@pytest.mark.parametrize('blocked', [('dgl', ), ('dgl', 'torch_geometric')])
def test_package_imports_without_graph_libraries_and_neck_names_installs(
        blocked):
    """Neither graph library is imported with the package; without DGL the
    neck runs on PyTorch Geometric; without both the error names the
    installs of both stacks."""
    code = textwrap.dedent(f"""
        import sys
        for name in {blocked!r}:
            sys.modules[name] = None  # any `import <name>` now fails
        import mmpretrain_multilabel
        from mmpretrain.registry import MODELS
        import numpy as np
        loaded = [m for m in sys.modules if sys.modules[m]]
        assert 'dgl' not in loaded and 'torch_geometric' not in loaded
        try:
            neck = MODELS.build(dict(type='GATReweightNeck', in_channels=4,
                                     graph=dict(node_features=np.ones((2, 3)),
                                                adjacency=np.eye(2))))
        except ImportError as e:
            print('MESSAGE:', e)
        else:
            print('BUILT', neck.graph_backend)
    """)
    res = subprocess.run([sys.executable, '-c', code], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    has_pyg = importlib.util.find_spec('torch_geometric') is not None
    if len(blocked) == 1 and has_pyg:
        assert 'BUILT pyg' in res.stdout, res.stdout + res.stderr[-2000:]
        return
    assert 'MESSAGE:' in res.stdout, res.stdout + res.stderr[-2000:]
    assert 'torch <= 2.2.1' in res.stdout and 'dgl==2.1.0' in res.stdout
    assert 'torch-geometric' in res.stdout


def test_graph_spec_is_built_when_the_neck_is_built(tmp_path, monkeypatch):
    """A config's build spec becomes a cached graph file when the neck is built
    (MMPretrain's stock runner calls nothing else first); the neck equals one built
    from prepare_label_graphs' file; a 'prototypes' spec, which needs a trained
    model, is refused with the tools that build it."""
    from mmengine.config import Config
    from mmpretrain.registry import MODELS

    from mmpretrain_multilabel.apis import prepare_label_graphs
    from mmpretrain_multilabel.datasets.demo_scenes import DEMO_CLASSES
    glove = tmp_path / 'g.txt'
    glove.write_text(''.join(f'{w} {i} {i % 3} 1\n'
                             for i, w in enumerate(DEMO_CLASSES)))
    monkeypatch.setenv('MMPRETRAIN_MULTILABEL_CACHE', str(tmp_path / 'cache'))
    spec = dict(dataset=dict(type='DemoScenes', data_root=str(tmp_path /
                                                              'demo'),
                             split='train', num_images=40, img_size=32,
                             pipeline=[dict(type='LoadImageFromFile')]),
                word_vectors=str(glove), t=0.4, p=0.25)
    neck_cfg = dict(type='GATReweightNeck', in_channels=S, graph=spec, num_classes=14,
                    hidden_channels=8, num_heads=2)
    torch.manual_seed(0)
    lazy = MODELS.build(Config(neck_cfg))  # a ConfigDict spec, as a runner passes it
    assert len(list((tmp_path / 'cache' / 'label_graphs').glob('*.npz'))) == 1
    np.testing.assert_array_equal(lazy.node_features[:, 0].numpy(), np.arange(14))

    cfg = prepare_label_graphs(Config(dict(model=dict(type='ImageClassifier', neck=neck_cfg))))
    assert cfg.model.neck.graph.startswith(str(tmp_path / 'cache'))  # the same cached file
    assert prepare_label_graphs(cfg).model.neck.graph == cfg.model.neck.graph  # idempotent
    torch.manual_seed(0)
    prebuilt = MODELS.build(cfg.model.neck)
    assert lazy.state_dict().keys() == prebuilt.state_dict().keys()
    for key, value in prebuilt.state_dict().items():
        torch.testing.assert_close(lazy.state_dict()[key], value)

    protos = dict(spec, word_vectors='prototypes', prototypes=dict(config='c.py'))
    with pytest.raises(LabelGraphError, match='tools/build_label_graph.py'):
        GATReweightNeck(S, graph=protos, num_classes=14)


@pytest.mark.parametrize('head, out_type', [
    ('gat_cosine', 'pooled'),
    ('gat_ml_decoder_cosine', 'map'),
])
def test_config_fragments_build(tmp_path, head, out_type):
    """The GAT head bases composed as a config does: with a backbone base and a
    loss base as siblings, completed by the config's own few values."""
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    models = osp.join(ROOT, 'configs', '_base_', 'models')
    bases = [osp.join(models, 'backbones', 'effv2s.py'), osp.join(models, 'heads', head + '.py'),
             osp.join(models, 'losses', 'aam_voc.py')]
    (tmp_path / 'cfg.py').write_text(
        f'_base_ = {bases!r}\n'
        'model = dict(backbone={{_base_.backbone}}, neck=dict(num_classes=20),\n'
        '             head=dict(num_classes=20, loss={{_base_.loss}}))\n')
    cfg = Config.fromfile(str(tmp_path / 'cfg.py'))
    assert cfg.model.neck.type == 'GATReweightNeck' and cfg.model.neck.in_channels == 1280
    assert cfg.model.neck.out_type == out_type
    cfg.model.neck.graph = arrays(0, k=20, n=50)
    cfg.model.neck.hidden_channels = 64
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 64), mode='tensor')
    assert out.shape == (1, 20) and torch.isfinite(out).all()
