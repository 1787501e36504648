"""tools/infer.py: input expansion, decisions, outputs, and agreement with
MMPretrain's stock ImageClassificationInferencer on a plugin model."""
import csv
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.apis import inference
from mmpretrain_multilabel.datasets import DEMO_CLASSES, DemoScenes

from .scripts import load_script

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY_CONFIG = osp.join(ROOT, 'tests', 'data', 'tiny_demo.py')
infer = load_script('tools/infer.py')


def test_expand_inputs_files_folders_globs(tmp_path):
    for name in ('b.png', 'a.jpg', 'notes.txt', 'sub/c.PNG'):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b'x')
    got = inference.expand_inputs([str(tmp_path), str(tmp_path / '**' / '*.PNG'),
                               str(tmp_path / 'a.jpg')])
    assert got == [str(tmp_path / 'a.jpg'), str(tmp_path / 'b.png'),
                   str(tmp_path / 'sub' / 'c.PNG')]  # folder sorted, no duplicates
    with pytest.raises(FileNotFoundError, match='nothing'):
        inference.expand_inputs([str(tmp_path / 'nothing*.png')])


def test_decide_keeps_scores_reaching_their_class_threshold():
    scores = np.array([[0.2, 0.7, 0.5], [0.9, 0.1, 0.49]], np.float32)
    thr = [0.2, 0.8, 0.5]
    got = inference.decide(scores, thr, ['a', 'b', 'c'])
    want = []
    for row in scores:
        keep = [(c, float(row[i])) for i, c in enumerate('abc') if row[i] >= thr[i]]
        want.append(sorted(keep, key=lambda x: -x[1]))
    assert got == want
    assert inference.decide(scores, 0.6, ['a', 'b', 'c']) == [[('b', pytest.approx(0.7))],
                                                          [('a', pytest.approx(0.9))]]


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    """An untrained tiny-demo model (plugin backbone) saved with class names,
    and 13 demo validation images."""
    from mmengine.runner import save_checkpoint
    from mmpretrain.registry import MODELS
    root = tmp_path_factory.mktemp('infer')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TINY_CONFIG).model)
    ckpt = root / 'tiny.pth'
    save_checkpoint(dict(state_dict=model.state_dict(),
                         meta=dict(dataset_meta=dict(classes=list(DEMO_CLASSES)))), str(ckpt))
    DemoScenes(data_root=str(root / 'data'), split='val', num_images=13, img_size=64)
    return dict(ckpt=str(ckpt), images=root / 'data' / 'val')


def test_infer_tool_outputs_match_the_stock_inferencer(tmp_path, demo):
    from mmpretrain.apis import ImageClassificationInferencer
    thr = {c: round(0.3 + 0.03 * i, 2) for i, c in enumerate(DEMO_CLASSES)}
    thr_file = tmp_path / 'thresholds.json'
    thr_file.write_text(json.dumps(dict(reversed(list(thr.items())))))  # any key order
    images = demo['images']
    out_dir = tmp_path / 'out'
    result = infer.main([TINY_CONFIG, demo['ckpt'], str(images / '00001.png'),
                         str(images / '0000*.png'), str(images), '--thresholds', str(thr_file),
                         '--out-dir', str(out_dir), '--batch-size', '3', '--no-progress'])
    paths = [str(images / '00001.png')] + [str(images / f'{i:05d}.png') for i in range(13)
                                           if i != 1]
    assert result['paths'] == paths

    # the stock inferencer, one image at a time, gives the same scores
    stock = ImageClassificationInferencer(TINY_CONFIG, pretrained=demo['ckpt'])
    want = np.stack([r['pred_scores'] for r in stock(paths, batch_size=1)])
    assert want.shape == (13, len(DEMO_CLASSES))
    np.testing.assert_allclose(result['scores'], want, atol=1e-5)

    saved = json.loads((out_dir / 'predictions.json').read_text())
    assert saved['classes'] == list(DEMO_CLASSES)
    assert saved['thresholds'] == [thr[c] for c in DEMO_CLASSES]
    rows = list(csv.reader(open(out_dir / 'predictions.csv')))
    assert rows[0] == ['image', 'labels', *DEMO_CLASSES]
    for pred, row, scores in zip(saved['predictions'], rows[1:], want):
        expected = [c for i, c in enumerate(DEMO_CLASSES) if scores[i] >= thr[c]]
        assert sorted(pred['labels']) == sorted(expected)
        assert pred['label_scores'] == sorted(pred['label_scores'], reverse=True)
        assert row[0] == pred['image'] and row[1] == ';'.join(pred['labels'])
        np.testing.assert_allclose([float(v) for v in row[2:]], scores, atol=1e-5)
    assert any(p['labels'] for p in saved['predictions'])


def test_infer_tool_rejects_a_thresholds_file_of_other_classes(tmp_path, demo):
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps({'cat': 0.5, 'dog': 0.5}))
    with pytest.raises(ValueError, match='does not match the classes'):
        infer.main([TINY_CONFIG, demo['ckpt'], str(demo['images']), '--thresholds', str(bad),
                    '--out-dir', str(tmp_path), '--no-progress'])
    result = infer.main([TINY_CONFIG, demo['ckpt'], str(demo['images'] / '00000.png'),
                         '--thresholds', '0.5', '--out-dir', str(tmp_path), '--no-progress'])
    assert result['thresholds'] == 0.5
    assert sorted(c for c, _ in result['labels'][0]) == sorted(
        c for c, s in zip(DEMO_CLASSES, result['scores'][0]) if s >= 0.5)
