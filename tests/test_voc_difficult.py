"""VOC "difficult" labels become -1 targets that the loss and metrics skip.

MMPretrain's ``VOC`` puts classes seen only in difficult objects in
``gt_label_difficult``; ``MarkIgnoredLabels`` writes them as -1 into
``gt_score``. Checked end to end: dataset -> pipeline -> data preprocessor
-> head/loss target, and MMPretrain's and the plugin's metrics.
"""
import numpy as np
import pytest
import torch
from mmpretrain.datasets import VOC
from mmpretrain.datasets.categories import VOC2007_CATEGORIES
from mmpretrain.models import ClsDataPreprocessor, MultiLabelClsHead
from mmpretrain.registry import METRICS, MODELS

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.datasets import MarkIgnoredLabels

from .dataset_test_utils import fast_gc, make_image  # noqa: F401

C = VOC2007_CATEGORIES
# image id -> [(class, difficult)]
OBJECTS = {
    '000001': [('dog', 0), ('person', 1)],            # person: difficult only
    '000002': [('car', 1), ('car', 0), ('bus', 1)],   # car: both -> positive
    '000003': [('cat', 0)],
    '000004': [('chair', 1), ('sofa', 1)],            # nothing positive
}


def write_voc(root):
    (root / 'Annotations').mkdir(parents=True)
    (root / 'ImageSets' / 'Main').mkdir(parents=True)
    for img_id, objs in OBJECTS.items():
        body = ''.join(f'<object><name>{n}</name><difficult>{d}</difficult>'
                       '</object>' for n, d in objs)
        (root / 'Annotations' / f'{img_id}.xml').write_text(
            f'<annotation>{body}</annotation>')
        make_image(root / 'JPEGImages' / f'{img_id}.jpg')
    (root / 'ImageSets' / 'Main' / 'trainval.txt').write_text(
        '\n'.join(OBJECTS) + '\n')


def expected_targets():
    """1: a non-difficult object; -1: only difficult objects; else 0."""
    out = {}
    for img_id, objs in OBJECTS.items():
        t = np.zeros(20, dtype=np.float32)
        for name, diff in objs:
            if diff and t[C.index(name)] == 0:
                t[C.index(name)] = -1
        for name, diff in objs:
            if not diff:
                t[C.index(name)] = 1
        out[img_id] = t
    return out


PIPELINE = [
    dict(type='CheckedLoadImageFromFile'),
    dict(type='Resize', scale=(32, 32)),
    dict(type='MarkIgnoredLabels', num_classes=20),
    dict(type='PackInputs',
         meta_keys=('sample_idx', 'img_path', 'gt_label_difficult')),
]


@pytest.fixture
def voc_batch(tmp_path):
    write_voc(tmp_path)
    ds = VOC(data_root=str(tmp_path), split='trainval', pipeline=PIPELINE)
    items = [ds[i] for i in range(len(ds))]
    pre = ClsDataPreprocessor(num_classes=20, to_onehot=True)
    batch = pre(dict(inputs=[it['inputs'] for it in items],
                     data_samples=[it['data_samples'] for it in items]))
    return ds, batch['data_samples']


def test_gt_score_marks_difficult(voc_batch):
    ds, samples = voc_batch
    expected = expected_targets()
    assert len(samples) == 4
    for i, sample in enumerate(samples):
        img_id = ds.get_data_info(i)['img_path'][-10:-4]
        np.testing.assert_array_equal(sample.gt_score.numpy(),
                                      expected[img_id])
    # the preprocessor kept gt_score (it only builds one when absent)
    assert samples[0].gt_score.dtype == torch.float32


def test_ignore_as_and_argument_checks():
    results = dict(gt_label=[1, 4], gt_label_difficult=[4, 7])
    np.testing.assert_array_equal(
        MarkIgnoredLabels(num_classes=8, ignore_as=0)(dict(results))
        ['gt_score'], [0, 1, 0, 0, 1, 0, 0, 0])
    np.testing.assert_array_equal(
        MarkIgnoredLabels(num_classes=8, ignore_as=1)(dict(results))
        ['gt_score'], [0, 1, 0, 0, 1, 0, 0, 1])
    with pytest.raises(ValueError, match=r'gt_label_difficult .* label id 9 '
                       r'outside \[0, 8\)'):
        MarkIgnoredLabels(num_classes=8)(dict(gt_label=[1],
                                              gt_label_difficult=[9]))
    with pytest.raises(ValueError, match='ignore_as must be'):
        MarkIgnoredLabels(num_classes=8, ignore_as=2)


def test_loss_receives_and_ignores_minus_one(voc_batch):
    _, samples = voc_batch
    expected = torch.stack([s.gt_score for s in samples])
    seen = {}

    class Capture(torch.nn.Module):
        def forward(self, score, target, **kwargs):
            seen['target'] = target.clone()
            return score.sum() * 0

    head = MultiLabelClsHead(loss=dict(type='CrossEntropyLoss',
                                       use_sigmoid=True))
    head.loss_module = Capture()
    head.loss((torch.randn(4, 20), ), samples)
    torch.testing.assert_close(seen['target'], expected)
    assert (seen['target'] == -1).sum() == 4  # person, bus, chair, sofa

    # the AAM loss gives ignored entries no loss and no gradient
    aam = MODELS.build(dict(type='AAMLoss'))
    cos = (torch.rand(4, 20) * 2 - 1).requires_grad_()
    loss = aam(cos, expected, avg_factor=4)
    loss.backward()
    ignored = expected == -1
    assert torch.all(cos.grad[ignored] == 0)
    assert torch.all(cos.grad[~ignored] != 0)
    moved = cos.detach().clone()
    moved[ignored] = -moved[ignored]
    torch.testing.assert_close(aam(moved, expected, avg_factor=4),
                               loss.detach())


def reference_map(scores, targets):
    """Mean over classes with positives of non-interpolated AP, -1 dropped."""
    aps = []
    for c in range(targets.shape[1]):
        keep = targets[:, c] != -1
        s, t = scores[keep, c], targets[keep, c]
        if t.sum() == 0:
            continue
        order = np.argsort(-s, kind='stable')
        hits = t[order] == 1
        prec = np.cumsum(hits) / np.arange(1, len(hits) + 1)
        aps.append(prec[hits].mean())
    return 100 * float(np.mean(aps)), len(aps)


def test_metrics_exclude_minus_one(voc_batch):
    _, samples = voc_batch
    rng = np.random.RandomState(0)
    scores = rng.rand(4, 20).astype(np.float32)
    targets = np.stack([s.gt_score.numpy() for s in samples])
    # a difficult-only class scored highest must not count as an error
    scores[targets == -1] = 1.0
    outputs = []
    for s, sc in zip(samples, scores):
        d = s.to_dict()
        d['pred_score'] = torch.from_numpy(sc)
        outputs.append(d)

    def run(cfg):
        metric = METRICS.build(cfg)
        metric.process(None, outputs)
        return metric.compute_metrics(metric.results)

    ref, n_cls = reference_map(scores, targets)
    assert n_cls == 3  # dog, car, cat
    ap = run(dict(type='AveragePrecision', average=None))['AP_classwise']
    present = [C.index(c) for c in ('dog', 'car', 'cat')]
    assert np.mean([ap[c] for c in present]) == pytest.approx(ref, abs=1e-4)
    # MMPretrain's VOC metric (its own difficult rule) agrees
    voc_ap = run(dict(type='VOCAveragePrecision', average=None))
    np.testing.assert_allclose(voc_ap['AP_classwise'], ap, atol=1e-4)
    # precision at 0.5: the -1 entries scored 1.0 are not false positives
    micro = run(dict(type='MultiLabelMetric', average='micro'))
    pos = targets == 1
    pred = scores >= 0.5
    valid = targets != -1
    tp = (pred & pos & valid).sum()
    assert micro['precision_micro'] == pytest.approx(
        100 * tp / (pred & valid).sum(), abs=1e-3)
    # the plugin's metric suite, with classes without positives excluded
    suite = run(dict(type='MultiLabelSuite', empty_class='exclude'))
    assert suite['mAP'] == pytest.approx(ref, abs=1e-3)


def test_voc07_config_marks_difficult(tmp_path):
    """configs/_base_/datasets/voc07_448.py: both pipelines carry the -1s."""
    import os.path as osp

    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS
    write_voc(tmp_path)
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    cfg = Config.fromfile(osp.join(root, 'configs', '_base_', 'datasets',
                                   'voc07_448.py'))
    assert cfg.data_preprocessor.num_classes == 20
    init_default_scope('mmpretrain')
    expected = expected_targets()
    for loader, split in ((cfg.train_dataloader, 'trainval'),
                          (cfg.val_dataloader, 'trainval')):
        ds_cfg = loader.dataset
        ds_cfg.update(data_root=str(tmp_path), split=split)
        ds = DATASETS.build(ds_cfg)
        out = ds[0]
        assert out['inputs'].shape == (3, 448, 448)
        img_id = ds.get_data_info(0)['img_path'][-10:-4]
        np.testing.assert_array_equal(out['data_samples'].gt_score.numpy(),
                                      expected[img_id])
