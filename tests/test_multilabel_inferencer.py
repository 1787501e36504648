"""MultiLabelClassificationInferencer: MMPretrain's inferencer API with label
sets (issue 27, item 3). MMPretrain's ``ImageClassificationInferencer``
returns one argmax label per image; this one returns every class whose score
reaches its threshold, with the scores and the thresholds used, and
``tools/infer.py`` runs checkpoints through it."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmcv.image import imread
from mmengine.config import Config
from mmengine.registry import INFERENCERS
from torch import nn

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.apis import MultiLabelClassificationInferencer
from mmpretrain_multilabel.apis.inference import make_backend
from mmpretrain_multilabel.apis.inferencer import decide_indices, resolve_inference_thresholds
from mmpretrain_multilabel.datasets import DEMO_CLASSES

from .scripts import load_script

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: the README's main demo (cosine head + AAM, the recipe) shrunk: 2 iterations
TINY_MAIN = osp.join(ROOT, 'tests', 'data', 'tiny_main_demo.py')
K = len(DEMO_CLASSES)


def test_decide_indices_keeps_scores_reaching_their_threshold_best_first():
    scores = np.array([[0.2, 0.7, 0.5], [0.9, 0.1, 0.49], [0.1, 0.1, 0.1]], np.float32)
    got = decide_indices(scores, [0.2, 0.8, 0.5])
    assert [g.tolist() for g in got] == [[2, 0], [0], []]  # >= as MMPretrain's heads
    assert [g.tolist() for g in decide_indices(scores, 0.5)] == [[1, 2], [0], []]


class _Head(nn.Module):
    def __init__(self, thr):
        super().__init__()
        self.thr = thr


def test_thresholds_given_then_the_models_own(tmp_path):
    classes = ['a', 'b', 'c']
    thr_file = tmp_path / 'thr.json'
    thr_file.write_text(json.dumps({'c': 0.3, 'a': 0.1, 'b': 0.2}))  # any key order
    head = _Head(torch.tensor([0.4, 0.5, 0.6]))  # the plugin heads' per-class buffer
    assert resolve_inference_thresholds(0.7, head, 3, classes) == [0.7] * 3
    assert resolve_inference_thresholds(str(thr_file), head, 3, classes) == [0.1, 0.2, 0.3]
    assert resolve_inference_thresholds(None, head, 3, classes) == pytest.approx([.4, .5, .6])
    assert resolve_inference_thresholds(None, _Head(0.5), 3, classes) == [0.5] * 3
    # the config's head names a thresholds file: read by class name
    assert resolve_inference_thresholds(None, head, 3, classes,
                                        config_thr=str(thr_file)) == [0.1, 0.2, 0.3]
    assert resolve_inference_thresholds(None, _Head(None), 3, classes) is None  # top-k head
    with pytest.raises(ValueError, match='2 thresholds for 3 classes'):
        resolve_inference_thresholds([0.1, 0.2], head, 3, classes)
    thr_file.write_text(json.dumps({'a': 0.1, 'b': 0.2, 'dog': 0.3}))
    with pytest.raises(ValueError, match='does not match the classes'):
        resolve_inference_thresholds(str(thr_file), head, 3, classes)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """The tiny main demo (cosine head + AAM) trained for 2 iterations by
    tools/train.py, and 6 of its validation images."""
    root = tmp_path_factory.mktemp('inferencer')
    data = root / 'data'
    options = [f'{f}.dataset.data_root={data}'
               for f in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    load_script('tools/train.py').main([TINY_MAIN, '--work-dir', str(root / 'work'),
                                        '--cfg-options', *options, 'log_level=WARNING'])
    images = [str(data / 'val' / f'{i:05d}.png') for i in range(6)]
    return dict(ckpt=str(root / 'work' / 'epoch_1.pth'), images=images, data=str(data))


@pytest.mark.slow
def test_label_sets_scores_and_thresholds_against_the_stock_inferencer(trained, tmp_path):
    from mmpretrain.apis import ImageClassificationInferencer
    images = trained['images']
    stock = ImageClassificationInferencer(TINY_MAIN, pretrained=trained['ckpt'])
    want = stock(images)
    assert all(isinstance(r['pred_label'], int) for r in want)  # one argmax label each

    scores = np.stack([r['pred_scores'] for r in want])
    # per-class thresholds: two classes always in, the others at their median score
    thr = {c: float(np.median(scores[:, i])) for i, c in enumerate(DEMO_CLASSES)}
    thr.update({DEMO_CLASSES[0]: 0.0, DEMO_CLASSES[5]: 0.0})
    thr_file = tmp_path / 'thresholds.json'
    thr_file.write_text(json.dumps(dict(reversed(list(thr.items())))))
    inferencer = MultiLabelClassificationInferencer(TINY_MAIN, pretrained=trained['ckpt'],
                                                    thresholds=str(thr_file))
    show_dir = tmp_path / 'show'
    got = inferencer(images, batch_size=4, show_dir=str(show_dir))
    assert len(got) == len(images)
    for record, row in zip(got, scores):
        np.testing.assert_allclose(record['pred_scores'], row, atol=1e-5)
        expected = {i for i, c in enumerate(DEMO_CLASSES) if row[i] >= thr[c]}
        assert set(record['pred_label']) == expected and len(expected) >= 2
        assert record['pred_score'] == sorted(record['pred_score'], reverse=True)
        np.testing.assert_allclose(record['pred_score'], row[record['pred_label']], atol=1e-5)
        assert record['pred_class'] == [DEMO_CLASSES[i] for i in record['pred_label']]
        assert record['thresholds'] == [thr[c] for c in DEMO_CLASSES]
    assert sorted(p.name for p in show_dir.glob('*.png')) == [osp.basename(p) for p in images]

    # images as arrays (BGR, as mmcv.imread) give the same scores
    arrays = inferencer([imread(p) for p in images[:2]])
    np.testing.assert_allclose(arrays[0]['pred_scores'], scores[0], atol=1e-5)


@pytest.mark.slow
def test_default_thresholds_are_the_checkpoint_models_own(trained):
    """Without thresholds the label set is the head's own (its per-class
    ``thr`` of the checkpoint's config); the inferencer is registered."""
    from mmpretrain.apis import ImageClassificationInferencer
    cfg = Config.fromfile(TINY_MAIN)
    head_thr = [round(0.45 + 0.01 * i, 2) for i in range(K)]
    cfg.model.head.thr = head_thr
    inferencer = INFERENCERS.build(dict(type='MultiLabelClassificationInferencer', model=cfg,
                                        pretrained=trained['ckpt']))
    assert isinstance(inferencer, MultiLabelClassificationInferencer)
    assert inferencer.thresholds == pytest.approx(head_thr)
    assert inferencer.classes == list(DEMO_CLASSES)  # from the checkpoint's dataset_meta
    got = inferencer(trained['images'])
    heads_own = ImageClassificationInferencer(cfg, pretrained=trained['ckpt'])(
        trained['images'], return_datasamples=True)
    for record, sample in zip(got, heads_own):
        assert set(record['pred_label']) == set(sample.pred_label.tolist())
        assert record['thresholds'] == pytest.approx(head_thr)


@pytest.mark.slow
def test_infer_tool_runs_checkpoints_through_the_inferencer(trained, tmp_path):
    backend = make_backend(TINY_MAIN, trained['ckpt'])
    assert isinstance(backend.inferencer, MultiLabelClassificationInferencer)
    assert backend.default_thresholds == [0.5] * K  # the head's thr
    result = load_script('tools/infer.py').main(
        [TINY_MAIN, trained['ckpt'], *trained['images'], '--thresholds', '0.5',
         '--out-dir', str(tmp_path), '--no-progress', '--batch-size', '4'])
    want = backend.inferencer(trained['images'])
    for labels, scores, record in zip(result['labels'], result['scores'], want):
        np.testing.assert_allclose(scores, record['pred_scores'], atol=1e-5)
        assert [c for c, _ in labels] == record['pred_class']
