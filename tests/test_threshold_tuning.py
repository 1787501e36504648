"""Per-class threshold tuning: known optima, a brute-force reference, the
registered metric, the thresholds file, plots and tools/tune_thresholds.py."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.evaluation import multilabel_metrics, tune_thresholds
from mmpretrain_multilabel.evaluation.metrics import ThresholdTuningMetric
from mmpretrain_multilabel.evaluation.plots import PLOT_FILES, plot_evaluation
from mmpretrain_multilabel.utils import load_thresholds

from .scripts import load_script

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY_CONFIG = osp.join(ROOT, 'tests', 'data', 'tiny_demo.py')


def ref_f1(scores, targets, thr):
    """F1 of one class at ``score >= thr`` with loops (ignored -1 skipped)."""
    tp = pp = ng = 0
    for s, t in zip(scores, targets):
        if t < 0:
            continue
        ng += t == 1
        if s >= thr:
            pp += 1
            tp += t == 1
    return 2 * tp / (pp + ng) if pp + ng else 0.0


def test_known_optima():
    cols = [
        # separable: positives 0.9/0.8/0.7, negatives 0.6/0.3 -> 0.65, F1 = 1
        ([0.9, 0.8, 0.7, 0.6, 0.3], [1, 1, 1, 0, 0], 0.65, 1.0),
        # F1 2/3 at 0.9 and at 0.4: the higher threshold, between 0.9 and 0.7
        ([0.9, 0.7, 0.6, 0.4, 0.2], [1, 0, 0, 1, 0], 0.8, 2 / 3),
        # no positive: keeps the default
        ([0.9, 0.7, 0.6, 0.4, 0.2], [0, 0, 0, 0, 0], 0.5, 0.0),
        # ties: the three 0.5 scores are one candidate (F1 = 4/5)
        ([0.5, 0.5, 0.5, 0.1, 0.1], [1, 1, 0, 0, 0], 0.3, 0.8),
        # an ignored high score changes nothing: between 0.3 and 0.2
        ([0.95, 0.3, 0.2, 0.9, 0.1], [-1, 1, 0, -1, -1], 0.25, 1.0),
    ]
    scores = torch.tensor([c[0] for c in cols]).t()
    targets = torch.tensor([c[1] for c in cols], dtype=torch.float32).t()
    thr, f1 = tune_thresholds(scores, targets, default=0.5)
    assert thr == pytest.approx([c[2] for c in cols], abs=1e-6)
    assert f1 == pytest.approx([c[3] for c in cols], abs=1e-9)
    thr, _ = tune_thresholds(scores, targets, default=[0.1, 0.2, 0.3, 0.4, 0.5])
    assert thr[2] == pytest.approx(0.3)  # a per-class default


@pytest.mark.parametrize('seed', range(4))
def test_matches_brute_force_search(seed):
    rng = np.random.default_rng(seed)
    n, k = 50, 6
    targets = (rng.random((n, k)) < 0.3).astype(np.float32)
    targets[rng.random((n, k)) < 0.1] = -1
    targets[:, 4] = 0  # no positives
    scores = np.round(np.clip(rng.random((n, k)) + 0.25 * (targets > 0), 0, 1), 2)
    scores = scores.astype(np.float32)
    thr, f1 = tune_thresholds(scores, targets, default=0.5)
    for c in range(k):
        col, tcol = scores[:, c].tolist(), targets[:, c].tolist()
        if not any(t == 1 for t in tcol):
            assert thr[c] == 0.5 and f1[c] == 0.0
            continue
        candidates = sorted(set(col), reverse=True)
        values = [ref_f1(col, tcol, t) for t in candidates]
        best = max(values)
        highest = candidates[values.index(best)]  # first maximum, scanning down
        assert f1[c] == pytest.approx(best, abs=1e-12)
        assert ref_f1(col, tcol, thr[c]) == pytest.approx(best, abs=1e-12)
        lower = [s for s in col if s < highest]
        # the threshold separates the same samples as the best candidate
        assert (max(lower) if lower else -1) < thr[c] <= highest


def test_scores_outside_unit_interval_are_refused():
    with pytest.raises(ValueError, match='probabilities'):
        tune_thresholds(torch.tensor([[2.0], [-1.0]]), torch.tensor([[1.0], [0.0]]))


def _samples(scores, targets):
    return [dict(pred_score=s, gt_score=t) for s, t in zip(scores, targets)]


def test_metric_writes_thresholds_and_reports_adapt_keys(tmp_path):
    g = torch.Generator().manual_seed(0)
    targets = (torch.rand(200, 5, generator=g) < 0.3).float()
    targets[:, 3] = 0  # keeps the default
    scores = torch.sigmoid(2 * torch.randn(200, 5, generator=g) + 1.5 * targets - 1)
    classes = ['a', 'b', 'c', 'd', 'e']
    out = tmp_path / 'sub' / 'thresholds.json'
    metric = ThresholdTuningMetric(out_file=str(out), thr=0.4)
    metric.dataset_meta = dict(classes=classes)
    metric.process(None, _samples(scores, targets))
    got = metric.evaluate(200)
    # round trip: names in class order, values equal to the tuned ones
    assert list(json.loads(out.read_text())) == classes
    loaded = load_thresholds(str(out), num_classes=5, classes=classes[::-1])
    assert loaded == pytest.approx(metric.thresholds[::-1])
    assert metric.thresholds[3] == 0.4
    want = multilabel_metrics(scores, targets, thr=0.4, adapt_thr=metric.thresholds)
    for key, value in want.items():
        assert got[f'multi-label/{key}'] == pytest.approx(value), key
    # each class's F1 can only improve on the tuning data
    for c in range(5):
        col, tcol = scores[:, c].tolist(), targets[:, c].tolist()
        assert ref_f1(col, tcol, metric.thresholds[c]) >= ref_f1(col, tcol, 0.4)
    assert got['multi-label/mean-F1-adapt'] > got['multi-label/mean-F1']
    with pytest.raises(ValueError, match='adapt_thr'):
        ThresholdTuningMetric(adapt_thr=[0.5] * 5)


def test_plots_are_written(tmp_path):
    g = torch.Generator().manual_seed(1)
    targets = (torch.rand(80, 4, generator=g) < 0.4).float()
    scores = torch.rand(80, 4, generator=g)
    classes = ['w', 'x', 'y', 'z']
    thr, _ = tune_thresholds(scores, targets)
    files = plot_evaluation(scores, targets, classes, str(tmp_path / 'p'), thresholds=thr,
                            plot_classes=['x', 3])
    assert set(files) == set(PLOT_FILES)
    for path in files.values():
        with open(path, 'rb') as f:
            assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    with pytest.raises(ValueError, match='nope'):
        plot_evaluation(scores, targets, classes, str(tmp_path), plot_classes=['nope'])


def test_scoring_loader_uses_the_test_pipeline_once_in_order():
    scoring_dataloader = load_script('tools/tune_thresholds.py').scoring_dataloader
    cfg = Config.fromfile(TINY_CONFIG)
    inner = cfg.train_dataloader.dataset
    cfg.train_dataloader.dataset = dict(type='RepeatDataset', times=3, dataset=inner)
    loader = scoring_dataloader(cfg)
    assert loader.dataset.type == 'DemoScenes' and loader.dataset.split == 'train'
    assert loader.dataset.pipeline == cfg.val_dataloader.dataset.pipeline
    assert not any(t['type'] == 'RandomFlip' for t in loader.dataset.pipeline)
    assert loader.sampler == dict(type='DefaultSampler', shuffle=False)
    assert loader.batch_size == cfg.val_dataloader.batch_size
    cfg.train_dataloader.dataset = dict(type='ConcatDataset', datasets=[inner, inner])
    with pytest.raises(ValueError, match='ConcatDataset'):
        scoring_dataloader(cfg)


@pytest.fixture(scope='module')
def tiny_checkpoint(tmp_path_factory):
    """An untrained model of the tiny demo config, saved with class names."""
    from mmengine.runner import save_checkpoint
    from mmpretrain.registry import MODELS

    from mmpretrain_multilabel.datasets import DEMO_CLASSES
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TINY_CONFIG).model)
    path = tmp_path_factory.mktemp('ckpt') / 'tiny.pth'
    save_checkpoint(dict(state_dict=model.state_dict(),
                         meta=dict(dataset_meta=dict(classes=list(DEMO_CLASSES)))), str(path))
    return str(path)


def test_tune_tool_end_to_end(tmp_path, tiny_checkpoint):
    """Thresholds equal those tuned on an independent, augmentation-free
    scoring of the training images; validation reports default and adapt."""
    tool = load_script('tools/tune_thresholds.py')
    from mmpretrain.apis import ImageClassificationInferencer

    from mmpretrain_multilabel.datasets import DEMO_CLASSES, DemoScenes
    data = tmp_path / 'data'
    options = [f'{k}.dataset.data_root={data}'
               for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    out = tmp_path / 'thresholds.json'
    metrics = tool.main([TINY_CONFIG, tiny_checkpoint, '--out', str(out), '--plots',
                         str(tmp_path / 'plots'), '--work-dir', str(tmp_path / 'work'),
                         '--cfg-options', *options])
    tuned = json.loads(out.read_text())
    assert list(tuned) == list(DEMO_CLASSES)
    for split in ('train', 'val'):
        for key in ('OF1', 'CF1', 'OF1-adapt', 'CF1-adapt', 'mAP'):
            assert 0 <= metrics[f'{split}/{key}'] <= 100
        for name in PLOT_FILES.values():
            assert (tmp_path / 'plots' / split / name).stat().st_size > 0
    assert metrics['train/mean-F1-adapt'] >= metrics['train/mean-F1']

    cfg = Config.fromfile(TINY_CONFIG)
    cfg.merge_from_dict(dict(a.split('=', 1) for a in options))
    train = DemoScenes(data_root=str(data), split='train', num_images=16, img_size=64)
    paths = [train.get_data_info(i)['img_path'] for i in range(len(train))]
    targets = torch.zeros(len(train), len(DEMO_CLASSES))
    for i in range(len(train)):
        targets[i, train.get_cat_ids(i)] = 1
    inferencer = ImageClassificationInferencer(cfg, pretrained=tiny_checkpoint)
    scores = torch.stack([torch.as_tensor(r['pred_scores']) for r in inferencer(paths)])
    want, _ = tune_thresholds(scores, targets)
    assert list(tuned.values()) == pytest.approx(want.tolist(), abs=1e-5)
