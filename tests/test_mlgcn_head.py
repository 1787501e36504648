"""MLGCNHead: the ML-GCN forward (against a dense reference), eval caching
and its invalidation, gradients, cosine variant with AAM, predict with
thresholds, graph checks, FLOPs, lazy DGL import, configs."""
import ast
import copy
import inspect
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from mmpretrain_multilabel.apis.complexity import model_complexity
from mmpretrain_multilabel.graph import LabelGraphError, build_label_graph
from mmpretrain_multilabel.models.heads import MLGCNHead, ml_gcn_head
from mmpretrain_multilabel.utils import save_thresholds

from .peer_head_utils import (
    config_head_loss,
    config_one_iteration,
    random_graph,
    tiny_classifier,
)

K, N, C = 6, 5, 8
AAM = dict(type='AAMLoss', s=12.0, gamma_neg=1.0)


def build_head(graph=None, **kwargs):
    torch.manual_seed(0)
    cfg = dict(type='MLGCNHead', num_classes=K, in_channels=C, hidden_channels=7,
               graph=random_graph(K, N) if graph is None else graph)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def dense_mlgcn_classifiers(head, graph):
    """ML-GCN's dense computation: A (+ I where the diagonal is 0),
    adj = D A^T D with D = rowsum(A)^-1/2 (gen_adj), two GraphConvolution
    layers x -> adj x W with LeakyReLU(0.2) between."""
    a = graph['adjacency'].astype(np.float64).copy()
    np.fill_diagonal(a, np.where(np.diag(a) > 0, np.diag(a), 1.0))
    d = np.diag(a.sum(1)**-0.5)
    adj = torch.tensor(d @ a.T @ d, dtype=torch.float32)
    x = torch.tensor(graph['node_features'])
    w1, w2 = head.layers[0].weight, head.layers[1].weight
    return adj @ (F.leaky_relu(adj @ x @ w1, 0.2) @ w2)


@pytest.mark.parametrize('normalized', [False, True])
def test_matches_dense_mlgcn(normalized):
    graph = random_graph(K, N, seed=3)
    graph['adjacency'] = graph['adjacency'] * 0.25 + np.eye(K, dtype=np.float32)  # re-weighted
    head = build_head(graph, normalized=normalized, loss=AAM if normalized else None)
    x = torch.randn(3, C, 4, 5)
    with torch.no_grad():
        w = dense_mlgcn_classifiers(head, graph)
        v = x.amax(dim=(2, 3))  # global max pooling
        expected = F.normalize(v, dim=1) @ F.normalize(w, dim=1).t() if normalized else v @ w.t()
        for mode in (True, False):  # train (uncached) and eval (cached)
            head.train(mode)
            torch.testing.assert_close(head((x, )), expected, rtol=1e-5, atol=1e-5)
            # a pooled feature from a neck is used as is
            torch.testing.assert_close(head((v, )), expected, rtol=1e-5, atol=1e-5)
    assert head.classifiers().shape == (K, C)


def test_initialisation_and_layers():
    from mmpretrain_multilabel.models.utils import GCNLayer
    head = build_head(hidden_channels=64)
    assert all(type(m) is GCNLayer for m in head.layers)
    assert [tuple(m.weight.shape) for m in head.layers] == [(N, 64), (64, C)]
    assert list(head.layers.state_dict()) == ['0.weight', '1.weight']  # bias-free
    assert head.layers[0].weight.abs().max() <= 64**-0.5  # ML-GCN: uniform +-1/sqrt(out)
    assert head.layers[1].weight.abs().max() <= C**-0.5


def test_inputs_are_checked():
    head = build_head().eval()
    with pytest.raises(ValueError, match=r'\[B, C, H, W\] or a pooled'):
        head((torch.randn(2, C, 3), ))
    with pytest.raises(ValueError, match='in_channels=8'):
        head((torch.randn(2, 3, 4, 4), ))


def test_eval_cache_equals_uncached_and_computes_once(monkeypatch):
    head = build_head().eval()
    calls = []
    compute = head.compute_classifiers
    monkeypatch.setattr(head, 'compute_classifiers', lambda: calls.append(1) or compute())
    x = torch.randn(2, C, 3, 3)
    with torch.no_grad():
        out1, out2 = head((x, )), head((x, ))
        w = head.classifiers()
    assert len(calls) == 1  # two forwards, one graph pass
    torch.testing.assert_close(out1, out2)
    torch.testing.assert_close(w, compute())  # cached == uncached
    assert not w.requires_grad
    head.train()
    head((x, ))
    head((x, ))
    assert len(calls) == 3  # train mode: every forward runs the graph


def test_cache_invalidation():
    head = build_head().eval()
    w0 = head.classifiers().clone()
    # an in-place parameter update (what optimizers do)
    with torch.no_grad():
        head.layers[0].weight.mul_(2)
    w1 = head.classifiers()
    assert not torch.allclose(w1, w0)
    torch.testing.assert_close(w1, head.compute_classifiers().detach())
    # load_state_dict
    other = build_head()
    with torch.no_grad():
        other.layers[1].weight.normal_()
    head.load_state_dict(other.state_dict())
    torch.testing.assert_close(head.classifiers(), other.compute_classifiers().detach())
    # train() / eval() drop it; a move or cast rebuilds it on the new dtype
    head.classifiers()
    head.train()
    assert not head._eval_cache
    head.eval()
    head.double()
    assert head.classifiers().dtype == torch.float64
    # deepcopy (EMA) and pickling start empty and give the same classifiers
    head.float().classifiers()
    for clone in (copy.deepcopy(head), pickle.loads(pickle.dumps(head))):
        assert not clone._eval_cache  # the DGL graph too: rebuilt, not copied
        torch.testing.assert_close(clone.eval().classifiers(), head.classifiers())


def test_optimizer_step_in_eval_mode_updates_classifiers():
    head = build_head()
    opt = torch.optim.SGD(head.parameters(), lr=0.5)
    head.train()
    head((torch.randn(2, C, 2, 2), )).sum().backward()
    head.eval()
    before = head.classifiers().clone()
    opt.step()
    after = head.classifiers()
    assert not torch.allclose(before, after)
    torch.testing.assert_close(after, head.compute_classifiers().detach())


@pytest.mark.parametrize('normalized', [False, True])
def test_gradients_reach_graph_layers_and_backbone(normalized):
    torch.manual_seed(0)
    head = dict(type='MLGCNHead', num_classes=5, in_channels=16, hidden_channels=7,
                graph=random_graph(5, N), normalized=normalized,
                loss=AAM if normalized else dict(type='AsymmetricLoss'))
    model = tiny_classifier(head).train()
    samples = [DataSample().set_gt_label([0, 2]), DataSample().set_gt_label([4])]
    loss = sum(model.loss(torch.randn(2, 3, 32, 32), samples).values())
    assert torch.isfinite(loss)
    loss.backward()
    for name, p in [('gcn 1', model.head.layers[0].weight),
                    ('gcn 2', model.head.layers[1].weight),
                    ('backbone', model.backbone.conv1.weight)]:
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert not model.head.node_features.requires_grad  # word vectors stay fixed


def test_normalized_with_aam():
    head = build_head(normalized=True, loss=AAM).eval()
    with torch.no_grad():
        cos = head((torch.randn(4, C, 3, 3), ))
    assert cos.abs().max() <= 1 + 1e-5 and head.scale == 12.0
    with pytest.raises(ValueError, match='normalized=True'):
        build_head(loss=AAM)
    with pytest.raises(ValueError, match='no positive scale'):
        build_head(normalized=True)


@pytest.mark.parametrize('normalized', [False, True])
def test_predict_with_thresholds(tmp_path, normalized):
    kwargs = dict(normalized=normalized, loss=AAM if normalized else None)
    x = torch.randn(3, C, 2, 2)
    base = build_head(**kwargs).eval()
    with torch.no_grad():
        raw = base((x, ))
    scores = torch.sigmoid(12.0 * raw if normalized else raw)
    thr = [0.2, 0.4, 0.5, 0.6, 0.8, 0.3]
    path = str(tmp_path / 'thr.json')
    save_thresholds(path, [f'c{i}' for i in range(K)], thr)
    for spec in (thr, path, 0.5):
        head = build_head(thr=spec, **kwargs).eval()
        head.load_state_dict(base.state_dict())
        with torch.no_grad():
            preds = head.predict((x, ))
        t = torch.tensor(thr) if spec != 0.5 else torch.full((K, ), 0.5)
        for i, sample in enumerate(preds):
            torch.testing.assert_close(sample.pred_score, scores[i])
            assert sample.pred_label.tolist() == torch.nonzero(scores[i] >= t).flatten().tolist()


def test_graph_sources_and_checks(tmp_path):
    arrays = random_graph(K, N)
    labels = [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 0]]
    graph = build_label_graph([f'c{i}' for i in range(K)], labels, arrays['node_features'])
    path = graph.save(str(tmp_path / 'g.npz'))
    from_file, from_object = build_head(path), build_head(graph)
    torch.testing.assert_close(from_file.edge_weight, from_object.edge_weight)
    binary = build_head(path, adjacency='binary')
    assert binary.edge_src.numel() == int(graph.adj_binary.sum()) + K  # + self-loops
    with pytest.raises(LabelGraphError, match='num_classes=6 but the label graph has K=4'):
        build_head(random_graph(4, N))
    with pytest.raises(LabelGraphError, match='feature_dim=300'):
        build_head(feature_dim=300)
    with pytest.raises(LabelGraphError, match='MLGCNHead: graph must be'):
        build_head(dict(adjacency=arrays['adjacency']))
    bad = dict(arrays, node_features=np.full((K, N), np.nan, np.float32))
    with pytest.raises(LabelGraphError, match='node_features.*NaN'):
        build_head(bad)
    with pytest.raises(LabelGraphError, match='must be'):
        build_head(dict(arrays, adjacency=np.ones((K, K + 1), np.float32)))
    with pytest.raises(FileNotFoundError, match='missing.npz'):
        build_head(str(tmp_path / 'missing.npz'))
    with pytest.raises(TypeError, match='MLGCNHead: graph'):
        build_head(np.zeros((K, K)))
    with pytest.raises(ValueError, match="adjacency='dense'"):
        build_head(adjacency='dense')


def test_graph_libraries_are_imported_lazily_with_a_clear_error(monkeypatch):
    from mmpretrain_multilabel.models.utils import graph_layers
    for module in (ml_gcn_head, graph_layers):
        tree = ast.parse(inspect.getsource(module))
        modules = [a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names]
        modules += [n.module for n in tree.body if isinstance(n, ast.ImportFrom) and n.module]
        assert modules and not [m for m in modules
                                if m.split('.')[0] in ('dgl', 'torch_geometric')]

    def no_dgl():
        raise ImportError('DGL 2.1.0 wheels ship native libraries for torch <= 2.2.1 only')

    monkeypatch.setattr(graph_layers, 'import_dgl', no_dgl)
    monkeypatch.setattr(graph_layers, 'import_pyg', no_dgl)
    match = '(?s)MLGCNHead builds graph convolutions.*torch-geometric.*torch <= 2.2.1'
    with pytest.raises(ImportError, match=match):
        build_head()


def test_flops_count_only_the_cached_classifier_product():
    """In eval mode the graph branch is a constant: the head costs one
    [1, C] x [C, K] product over the backbone."""
    head = dict(type='MLGCNHead', num_classes=K, in_channels=16, hidden_channels=32,
                graph=random_graph(K, N))
    model = tiny_classifier(head)
    counts = model_complexity(model, (32, 32))
    assert counts['head'][0] == 16 * K
    assert counts['total'][0] == counts['backbone'][0] + 16 * K
    assert counts['head'][1] == N * 32 + 32 * 16  # the GCN parameters


def test_head_is_registered():
    assert MODELS.get('MLGCNHead') is MLGCNHead


@pytest.mark.parametrize('config,num_classes,paper', [
    ('configs/mlgcn/effv2s_mlgcn-asl_2xb42_coco-448px.py', 80, (87.50, 10.83)),
    ('configs/mlgcn/effv2s_mlgcn-asl_2xb42_voc07-448px.py', 20, (95.25, 10.83)),
    ('configs/mlgcn/effv2s_mlgcn-asl_2xb42_nus-wide-448px.py', 81, (66.30, 10.83)),
])
@pytest.mark.slow
def test_paper_configs(config, num_classes, paper):
    """Each paper config: the paper's row, ML-GCN's graph settings built from
    the training split, ASL at the paper's LR (VOC: difficult labels as
    negatives); its head (a random graph of the dataset's K replacing the one
    from the absent annotations) trains on a 1280-channel map
    (tests/test_paper_configs.py runs every paper config's whole model)."""
    from mmengine.config import Config

    from .peer_head_utils import ROOT
    spec = Config.fromfile(f'{ROOT}/{config}').model.head.graph
    assert spec.word_vectors == 'glove-6b-50d' and (spec.t, spec.p) == (0.4, 0.25)
    cfg, head, loss = config_head_loss(config, graph=random_graph(num_classes))
    assert spec.dataset == cfg.train_dataloader.dataset.to_dict() | dict(
        pipeline=spec.dataset.pipeline)  # the training split
    assert isinstance(head, MLGCNHead) and cfg.model.neck is None
    assert head.num_classes == num_classes == cfg.data_preprocessor.num_classes
    assert head.layers[0].weight.shape[1] == 1024 and head.layers[1].weight.shape == (1024, 1280)
    assert (cfg.paper_reference.mAP, cfg.paper_reference.gflops) == paper
    assert cfg.paper_reference.shape == 448
    assert cfg.model.head.loss.type == 'BatchSumLoss'  # summed, as the authors'
    assert cfg.model.head.loss.loss.type == 'AsymmetricLoss'
    # the paper's ASL LR, once: OneCycle peaks at the optimizer's lr
    assert cfg.optim_wrapper.optimizer.lr == 1e-4 and 'eta_max' not in cfg.param_scheduler
    marks = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'MarkIgnoredLabels']
    assert [t.ignore_as for t in marks] == ([0] if num_classes == 20 else [])
    assert torch.isfinite(loss)
    loss.backward()
    assert head.layers[0].weight.grad is not None


@pytest.mark.slow
def test_coco_paper_config_runs_one_iteration_with_sam():
    """The whole EfficientNetV2-s + ML-GCN model of the COCO config, one step
    of the config's SAM optimizer (two passes through the graph) at 64 px."""
    cfg, model, log_vars = config_one_iteration(
        'configs/mlgcn/effv2s_mlgcn-asl_2xb42_coco-448px.py', size=64, graph=random_graph(80))
    assert type(model.head) is MLGCNHead and model.neck is None
    assert torch.isfinite(log_vars['loss'])


@pytest.mark.slow
def test_demo_config_builds_its_graph_and_runs_one_iteration(tmp_path):
    """The demo config's graph spec is built from the demo training split
    (a small one here) with the offline GloVe 6B 50-d vectors."""
    from mmengine.config import Config

    from .peer_head_utils import ROOT
    config = 'configs/demo/lite0_mlgcn-aam_1xb32_demo-128px.py'
    spec = Config.fromfile(f'{ROOT}/{config}').model.head.graph.to_dict()
    spec['dataset'].update(data_root=str(tmp_path / 'demo'), num_images=40, img_size=32)
    spec['cache_file'] = str(tmp_path / 'graph.npz')
    cfg, model, log_vars = config_one_iteration(config, size=64, graph=spec)
    assert (tmp_path / 'graph.npz').is_file()
    assert model.head.node_features.shape == (14, 50) and model.head.normalized
    assert torch.isfinite(log_vars['loss'])
