"""Graph backends: DGL and PyTorch Geometric give the same layers, the same
``state_dict`` keys and the same outputs; checkpoints cross backends;
``graph_backend='auto'`` picks DGL, else PyG, else a clear error."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.runner.checkpoint import load_checkpoint, save_checkpoint
from mmpretrain.registry import MODELS

import mmpretrain_multilabel  # noqa: F401  registers the components
from mmpretrain_multilabel.models.utils import graph_layers
from mmpretrain_multilabel.models.utils.graph_buffers import graph_edges
from mmpretrain_multilabel.models.utils.graph_layers import (
    GATLayer,
    GCNLayer,
    backend_graph,
    resolve_graph_backend,
)


def _loads(load) -> bool:
    try:
        load()
    except ImportError:
        return False
    return True


HAS_DGL = _loads(graph_layers.import_dgl)
HAS_PYG = _loads(graph_layers.import_pyg)
BACKENDS = [pytest.param('dgl', marks=pytest.mark.skipif(not HAS_DGL, reason='no DGL')),
            pytest.param('pyg', marks=pytest.mark.skipif(not HAS_PYG, reason='no PyG'))]
both = pytest.mark.skipif(not (HAS_DGL and HAS_PYG), reason='needs DGL and PyG')
TOL = dict(rtol=0, atol=1e-5)
K, N, S = 7, 6, 12


def random_graph(seed=0, k=K, n=N):
    """Node features and a re-weighted adjacency with an empty diagonal."""
    rng = np.random.RandomState(seed)
    adj = (rng.rand(k, k) < 0.4) * rng.uniform(0.1, 1.0, (k, k))
    np.fill_diagonal(adj, 0)
    return dict(node_features=rng.randn(k, n).astype(np.float32),
                adjacency=adj.astype(np.float32))


def edges(graph, layer_type='gat'):
    src, dst, w = graph_edges(graph['adjacency'], layer_type)
    return torch.from_numpy(src), torch.from_numpy(dst), torch.from_numpy(w)


def dense_gat(layer: GATLayer, x, adj_with_loops, edge_weight: bool):
    """GAT by the paper's dense formula: e_ij = LeakyReLU(a_l.Wx_i + a_r.Wx_j)
    over edges j -> i, softmax over each node's in-edges, optional scaling by
    the edge weight, sum of W x_j per head, plus bias: [K, H, F]."""
    h, f = layer.num_heads, layer.out_channels
    ft = (x @ layer.fc.weight.t()).view(-1, h, f)
    el = (ft * layer.attn_l).sum(-1)  # [K, H], source term
    er = (ft * layer.attn_r).sum(-1)  # [K, H], destination term
    mask = torch.as_tensor(adj_with_loops > 0).t()  # [dst, src]
    e = F.leaky_relu(er[:, None, :] + el[None, :, :], layer.negative_slope)  # [dst, src, H]
    e = e.masked_fill(~mask[..., None], float('-inf'))
    a = torch.softmax(e, dim=1)
    if edge_weight:
        a = a * torch.as_tensor(adj_with_loops).t()[..., None]
    return torch.einsum('ijh,jhf->ihf', a, ft) + layer.bias.view(1, h, f)


def with_self_loops(adj):
    a = np.asarray(adj, np.float32).copy()
    np.fill_diagonal(a, np.where(np.diag(a) > 0, np.diag(a), 1.0))
    return a


@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('edge_weight', [False, True])
def test_gat_layer_matches_the_dense_formula(backend, edge_weight):
    graph = random_graph()
    torch.manual_seed(0)
    layer = GATLayer(N, 5, num_heads=3, negative_slope=0.1)
    with torch.no_grad():
        layer.bias.normal_()
    x = torch.from_numpy(graph['node_features'])
    src, dst, w = edges(graph)
    out = layer(backend_graph(backend, src, dst, K), x, w if edge_weight else None)
    assert out.shape == (K, 3, 5)
    want = dense_gat(layer, x, with_self_loops(graph['adjacency']), edge_weight)
    torch.testing.assert_close(out, want, **TOL)


@pytest.mark.parametrize('backend', BACKENDS)
def test_gcn_layer_matches_mlgcn_normalised_adjacency(backend):
    graph = random_graph(1)
    torch.manual_seed(0)
    for n_out in (4, 9):  # both multiplication orders
        layer = GCNLayer(N, n_out)
        x = torch.from_numpy(graph['node_features'])
        a = with_self_loops(graph['adjacency'])
        d = np.diag(a.sum(1)**-0.5)
        adj = torch.tensor(d @ a.T @ d, dtype=torch.float32)  # ML-GCN's gen_adj
        src, dst, w = edges(graph, 'gcn')
        out = layer(backend_graph(backend, src, dst, K), x, w)
        torch.testing.assert_close(out, adj @ x @ layer.weight, **TOL)


@pytest.mark.skipif(not HAS_DGL, reason='no DGL')
@pytest.mark.parametrize('backend', BACKENDS)
def test_layers_equal_dgl_nn_with_its_state_dict_and_init(backend):
    """Same keys, init (same seed) and outputs as dgl.nn.GATConv / GraphConv:
    checkpoints of the earlier dgl.nn layers load unchanged."""
    import dgl
    import dgl.nn
    graph = random_graph(2)
    src, dst, w = edges(graph)
    x = torch.from_numpy(graph['node_features'])
    torch.manual_seed(3)
    ref = dgl.nn.GATConv(N, 5, 4, negative_slope=0.3)
    torch.manual_seed(3)
    ours = GATLayer(N, 5, 4, negative_slope=0.3)
    assert ours.state_dict().keys() == ref.state_dict().keys()
    for key, value in ref.state_dict().items():
        assert torch.equal(ours.state_dict()[key], value), key
    with torch.no_grad():
        ref.bias.normal_()
    ours.load_state_dict(ref.state_dict(), strict=True)
    g, bg = dgl.graph((src, dst), num_nodes=K), backend_graph(backend, src, dst, K)
    torch.testing.assert_close(ours(bg, x, w), ref(g, x, edge_weight=w), **TOL)
    torch.testing.assert_close(ours(bg, x), ref(g, x), **TOL)

    torch.manual_seed(4)
    ref_gcn = dgl.nn.GraphConv(N, 9, norm='none', bias=False)
    torch.manual_seed(4)
    gcn = GCNLayer(N, 9)
    assert gcn.state_dict().keys() == ref_gcn.state_dict().keys() == {'weight'}
    assert torch.equal(gcn.weight, ref_gcn.weight)
    torch.testing.assert_close(gcn(bg, x, w), ref_gcn(g, x, edge_weight=w), **TOL)


@pytest.mark.skipif(not HAS_PYG, reason='no PyG')
@pytest.mark.parametrize('backend', BACKENDS)
def test_gat_layer_equals_pyg_gatconv(backend):
    """PyG's own GATConv (concat heads, no added self-loops: the graph has
    them) with our parameters under its names gives our output."""
    from torch_geometric.nn import GATConv
    graph = random_graph(3)
    src, dst, _ = edges(graph)
    x = torch.from_numpy(graph['node_features'])
    torch.manual_seed(5)
    ours = GATLayer(N, 5, 3, negative_slope=0.15)
    with torch.no_grad():
        ours.bias.normal_()
    ref = GATConv(N, 5, heads=3, negative_slope=0.15, add_self_loops=False)
    names = {'fc.weight': 'lin.weight', 'attn_l': 'att_src', 'attn_r': 'att_dst', 'bias': 'bias'}
    ref.load_state_dict({names[k]: v for k, v in ours.state_dict().items()}, strict=True)
    want = ref(x, torch.stack([src, dst])).view(K, 3, 5)
    torch.testing.assert_close(ours(backend_graph(backend, src, dst, K), x), want, **TOL)


NECKS = {
    'gat-3x4heads': dict(layer_type='gat', num_layers=3, hidden_channels=16, num_heads=4,
                         negative_slope=0.1),
    'gat-edge-weight': dict(layer_type='gat', num_heads=2, hidden_channels=8,
                            use_edge_weight=True, adjacency='binary'),
    'gcn': dict(layer_type='gcn', hidden_channels=16),
}


def build(cfg, backend, seed=0):
    torch.manual_seed(seed)
    return MODELS.build(dict(cfg, graph_backend=backend))


def neck_cfg(name):
    g = random_graph(4)
    graph = dict(node_features=g['node_features'], adj_reweighted=g['adjacency'],
                 adj_binary=(g['adjacency'] > 0).astype(np.float32))
    return dict(type='GATReweightNeck', in_channels=S, graph=graph, **NECKS[name])


def head_cfg():
    return dict(type='MLGCNHead', num_classes=K, in_channels=S, hidden_channels=16,
                graph=random_graph(5))


@both
@pytest.mark.parametrize('name', sorted(NECKS))
def test_neck_backends_agree(name):
    """Same seed: identical state_dicts; same outputs and gradients."""
    dgl_neck, pyg_neck = (build(neck_cfg(name), b) for b in ('dgl', 'pyg'))
    assert (dgl_neck.graph_backend, pyg_neck.graph_backend) == ('dgl', 'pyg')
    sd_dgl, sd_pyg = dgl_neck.state_dict(), pyg_neck.state_dict()
    assert list(sd_dgl) == list(sd_pyg)
    assert all(torch.equal(sd_dgl[k], sd_pyg[k]) for k in sd_dgl)
    f = torch.randn(2, S, 3, 3)
    outs = []
    for neck in (dgl_neck, pyg_neck):
        out = neck((f, ))[0]
        out.pow(2).sum().backward()
        outs.append((out, [p.grad for p in neck.parameters()]))
    torch.testing.assert_close(outs[0][0], outs[1][0], **TOL)
    for g_dgl, g_pyg in zip(outs[0][1], outs[1][1]):
        torch.testing.assert_close(g_dgl, g_pyg, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(dgl_neck.eval().channel_weights(),
                               pyg_neck.eval().channel_weights(), **TOL)


@both
def test_head_backends_agree():
    dgl_head, pyg_head = (build(head_cfg(), b) for b in ('dgl', 'pyg'))
    assert list(dgl_head.state_dict()) == list(pyg_head.state_dict())
    x = torch.randn(3, S, 2, 2)
    torch.testing.assert_close(dgl_head((x, )), pyg_head((x, )), **TOL)


def tiny_model(backend):
    return dict(type='ImageClassifier',
                backbone=dict(type='ResNet_CIFAR', depth=18, num_stages=1, strides=(1, ),
                              dilations=(1, ), out_indices=(0, ), stem_channels=S,
                              base_channels=S),
                neck=dict(neck_cfg('gat-3x4heads'), graph_backend=backend),
                head=dict(head_cfg(), graph_backend=backend))


@both
@pytest.mark.parametrize('src,dst', [('dgl', 'pyg'), ('pyg', 'dgl')])
def test_checkpoint_crosses_backends(tmp_path, src, dst):
    """A model saved with one backend loads into the other (strict) and
    predicts identically, in train-mode forward and cached eval."""
    torch.manual_seed(0)
    trained = MODELS.build(tiny_model(src))
    with torch.no_grad():  # move away from the init both builds share
        for p in trained.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    ckpt = tmp_path / 'model.pth'
    save_checkpoint({'state_dict': trained.state_dict(), 'meta': {'backend': src}}, str(ckpt))
    torch.manual_seed(1)
    other = MODELS.build(tiny_model(dst))
    assert other.neck.graph_backend == dst and other.head.graph_backend == dst
    load_checkpoint(other, str(ckpt), strict=True)
    x = torch.randn(2, 3, 16, 16)
    for model in (trained, other):
        model.eval()
    with torch.no_grad():
        want = trained(x, mode='tensor')
        got = other(x, mode='tensor')
    torch.testing.assert_close(got, want, **TOL)
    assert [d.pred_score for d in other.predict(x)][0].shape == (K, )


def test_auto_prefers_dgl_then_pyg_then_names_both_installs(monkeypatch):
    def fail(what):
        def load():
            raise ImportError(f'{what} missing')
        return load

    if HAS_DGL:
        assert resolve_graph_backend('auto') == 'dgl'
    monkeypatch.setattr(graph_layers, 'import_dgl', fail('dgl'))
    if HAS_PYG:
        assert resolve_graph_backend('auto') == 'pyg'
        assert resolve_graph_backend('pyg') == 'pyg'
    with pytest.raises(ImportError, match='dgl missing'):
        resolve_graph_backend('dgl')
    monkeypatch.setattr(graph_layers, 'import_pyg', fail('pyg'))
    with pytest.raises(ImportError, match='neither loads') as err:
        resolve_graph_backend('auto')
    assert 'dgl==2.1.0' in str(err.value) and 'torch-geometric' in str(err.value)
    with pytest.raises(ImportError, match='MLGCNHead builds graph convolutions.*neither'):
        MODELS.build(head_cfg())
    with pytest.raises(ValueError, match="graph_backend must be one of.*'tf'"):
        resolve_graph_backend('tf')
