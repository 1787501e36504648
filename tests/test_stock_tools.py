"""MMPretrain's own tools and APIs on the shipped configs (issue 27, item 2).

MMPretrain's stock ``tools/train.py`` / ``test.py`` (shipped in the installed
wheel under ``mmpretrain/.mim/tools/``, which ``mim train mmpretrain`` runs)
know nothing of label graphs: the GAT neck and the ML-GCN head build theirs
from the config's ``graph=dict(dataset=...)`` spec while the runner builds
the model. The stock tools force ``persistent_workers=True`` unless a loader
says otherwise, so the demos' loaders (no workers) say ``False``.
"""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import mmengine
import mmpretrain
import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.apis import prepare_label_graphs
from mmpretrain_multilabel.apis.label_graphs import graph_owners
from mmpretrain_multilabel.graph import LabelGraphError, random_label_graph, resolve_graph_spec
from mmpretrain_multilabel.graph import builder as graph_builder

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(ROOT, 'configs')
LEAVES = sorted(osp.relpath(p, CONFIGS) for p in glob.glob(osp.join(CONFIGS, '**', '*.py'),
                                                           recursive=True)
                if '_base_' not in p.split(os.sep))
DEMOS = [leaf for leaf in LEAVES if leaf.startswith('demo' + os.sep)]
STOCK_TOOLS = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'tools')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def test_configs_are_found():
    assert len(LEAVES) >= 70 and len(DEMOS) >= 11
    assert sum(1 for leaf in LEAVES if 'gat' in leaf or 'mlgcn' in leaf) >= 20


# ------------------------------------------------------ graph spec resolution


@pytest.mark.parametrize('rank, world_size, order', [
    (0, 1, ['build']),
    (0, 2, ['build', 'barrier']),  # rank 0 builds the file, then releases the others
    (1, 2, ['barrier', 'build']),  # the others wait, then find it in the cache
])
def test_graph_spec_is_built_by_rank_zero_first(monkeypatch, rank, world_size, order):
    calls = []
    monkeypatch.setattr('mmengine.dist.get_dist_info', lambda: (rank, world_size))
    monkeypatch.setattr('mmengine.dist.barrier', lambda: calls.append('barrier'))

    def fake_build(**spec):
        calls.append('build')
        return 'graph.npz'

    monkeypatch.setattr(graph_builder, 'build_graph_file', fake_build)
    spec = ConfigDict(dataset=dict(type='DemoScenes', data_root='d'), t=0.4)
    assert resolve_graph_spec(spec, 'Neck') == 'graph.npz'
    assert calls == order
    assert resolve_graph_spec('built.npz') == 'built.npz'  # a built graph passes through


def test_rank_zero_releases_the_others_when_the_build_fails(monkeypatch):
    calls = []
    monkeypatch.setattr('mmengine.dist.get_dist_info', lambda: (0, 2))
    monkeypatch.setattr('mmengine.dist.barrier', lambda: calls.append('barrier'))

    def failing_build(**spec):
        raise LabelGraphError('no labels')

    monkeypatch.setattr(graph_builder, 'build_graph_file', failing_build)
    with pytest.raises(LabelGraphError, match='no labels'):
        resolve_graph_spec(dict(dataset='ann.json'))
    assert calls == ['barrier']  # no rank is left waiting


# -------------------------------------- every shipped config, stock semantics


def _stock_loader(loader: dict) -> dict:
    """A dataloader config as MMPretrain's stock tools/train.py completes it."""
    merged = ConfigDict(pin_memory=True, persistent_workers=True,
                        collate_fn=dict(type='default_collate'))
    merged.update(loader)
    return merged


@pytest.mark.parametrize('leaf', LEAVES)
def test_stock_path_builds_every_graph_and_loader(leaf, tmp_path, monkeypatch):
    """As the stock tools read a config (``Config.fromfile``, no graph step):
    every graph branch builds its graph from the training split of its own
    config while it is built, and no loader asks for persistent workers
    without workers. The label reading is replaced by a random graph of the
    config's class count (the datasets are not here)."""
    cfg = Config.fromfile(osp.join(CONFIGS, leaf))
    for field in LOADERS:
        loader = _stock_loader(cfg[field])
        assert loader.num_workers > 0 or not loader.persistent_workers, (field, loader)

    owners = list(graph_owners(cfg.model))
    if not owners:
        return
    seen = []

    def fake_build(dataset, cache_file=None, logger=None, **settings):
        seen.append(dataset)
        path = str(tmp_path / f'graph{len(seen)}.npz')
        return random_label_graph(cfg.model.head.num_classes).save(path)

    monkeypatch.setattr(graph_builder, 'build_graph_file', fake_build)
    init_default_scope('mmpretrain')
    for owner in owners:
        module = MODELS.build(owner)
        assert module.node_features.shape[0] == cfg.model.head.num_classes
    assert seen == [cfg.train_dataloader.dataset.to_dict()] * len(owners)


def _demo_options(cfg: Config, data_root: str, num_images: int = 16) -> None:
    """Point a demo config's loaders and graph specs at a small demo set."""
    for field in LOADERS:
        cfg[field].dataset.data_root = data_root
    cfg.train_dataloader.dataset.num_images = num_images
    for owner in graph_owners(cfg.model):
        owner['graph']['dataset'].update(data_root=data_root, num_images=num_images)


@pytest.mark.slow
def test_demo_models_build_through_mmpretrain_get_model(tmp_path, monkeypatch):
    """MMPretrain's ``get_model`` (what its inferencers call) builds every
    demo model from the config alone, label graphs included."""
    from mmpretrain.apis import get_model
    monkeypatch.setenv('MMPRETRAIN_MULTILABEL_CACHE', str(tmp_path / 'cache'))
    graphs = 0
    for leaf in DEMOS:
        cfg = Config.fromfile(osp.join(CONFIGS, leaf))
        _demo_options(cfg, str(tmp_path / 'data'))
        model = get_model(cfg)
        for part in (model.neck, model.head):
            if hasattr(part, 'node_features'):
                graphs += 1
                assert part.node_features.shape == (14, 50), leaf  # GloVe 6B 50-d
    assert graphs == 3  # GAT + cosine, GAT + ML-Decoder, ML-GCN
    assert len(glob.glob(str(tmp_path / 'cache' / 'label_graphs' / '*.npz'))) == 1


# --------------------------------------------------- the stock tools, end to end


def _run_stock(tool: str, args: list, cwd, env) -> str:
    path = osp.join(STOCK_TOOLS, tool)
    if not osp.isfile(path):
        pytest.skip(f'MMPretrain ships no {path}')
    proc = subprocess.run([sys.executable, path, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=400)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


@pytest.mark.slow
@pytest.mark.parametrize('config, owner', [('tiny_gat_demo.py', 'neck'),
                                           ('tiny_mlgcn_demo.py', 'head')])
def test_stock_train_and_test_run_a_graph_config(tmp_path, config, owner):
    """MMPretrain's own tools/train.py trains a GAT / ML-GCN config to the end
    with no graph step (the graph is built from the training split when the
    model is built, then reused from the cache), and its tools/test.py gives
    the checkpoint's validation mAP; the checkpoint has the keys of a model
    built from a prebuilt graph."""
    config = osp.join(ROOT, 'tests', 'data', config)
    data = tmp_path / 'data'
    options = ['--cfg-options', *(f'{f}.dataset.data_root={data}' for f in LOADERS),
               f'model.{owner}.graph.dataset.data_root={data}']
    env = dict(os.environ, MMPRETRAIN_MULTILABEL_CACHE=str(tmp_path / 'cache'))
    work = tmp_path / 'work'
    log = _run_stock('train.py', [config, '--work-dir', str(work), *options], tmp_path, env)
    assert 'label graph: built' in log
    ckpt = work / 'epoch_1.pth'
    assert ckpt.is_file()
    scalars = [json.loads(line) for line in open(glob.glob(str(
        work / '*' / 'vis_data' / 'scalars.json'))[0])]
    val_map = [s['multi-label/mAP'] for s in scalars if 'multi-label/mAP' in s][-1]

    metrics_file = tmp_path / 'metrics.pkl'
    log = _run_stock('test.py', [config, str(ckpt), '--work-dir', str(tmp_path / 'test'),
                                 '--out', str(metrics_file), '--out-item', 'metrics',
                                 *options], tmp_path, env)
    assert 'label graph: reusing' in log
    metrics = mmengine.load(str(metrics_file))
    assert metrics['multi-label/mAP'] == pytest.approx(val_map, abs=1e-3)

    cfg = Config.fromfile(config)
    cfg.merge_from_dict({o.split('=')[0]: o.split('=')[1] for o in options[1:]})
    init_default_scope('mmpretrain')
    prebuilt = MODELS.build(prepare_label_graphs(cfg).model)
    state = torch.load(str(ckpt), map_location='cpu')['state_dict']
    assert set(state) == set(prebuilt.state_dict())
    assert f'{owner}.node_features' in state and f'{owner}.edge_src' in state
