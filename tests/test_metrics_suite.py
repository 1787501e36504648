"""MultiLabelSuite: every formula against plainly written loops, agreement
with MMPretrain's metrics where the definitions coincide, target formats,
thresholds files, and 2-process evaluation."""
import json
import math
import time

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmpretrain.evaluation import (
    AveragePrecision,
    MultiLabelMetric,
    VOCAveragePrecision,
    VOCMultiLabelMetric,
)
from mmpretrain.registry import METRICS

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.evaluation import multilabel_metrics
from mmpretrain_multilabel.evaluation.metrics import MultiLabelSuite

# ---------------------------------------------------------------- references


def ref_ap(scores, targets):
    """Mean over positives of the precision among valid samples scoring at
    least as high (tied scores form one threshold); 0 without positives."""
    valid = [(s, t) for s, t in zip(scores, targets) if t >= 0]
    positives = [s for s, t in valid if t == 1]
    if not positives:
        return 0.0
    total = 0.0
    for s_pos in positives:
        above = [t for s, t in valid if s >= s_pos]
        total += sum(1 for t in above if t == 1) / len(above)
    return total / len(positives)


def ref_counts(pred, targets):
    """Per class Nc, Np, Ng with loops; ignored (-1) entries skipped."""
    n, k = len(targets), len(targets[0])
    nc, np_, ng = [0] * k, [0] * k, [0] * k
    for i in range(n):
        for c in range(k):
            if targets[i][c] < 0:
                continue
            if pred[i][c]:
                np_[c] += 1
                if targets[i][c] == 1:
                    nc[c] += 1
            if targets[i][c] == 1:
                ng[c] += 1
    return nc, np_, ng


def div(a, b):
    return a / b if b else 0.0


def ref_rates(nc, np_, ng, classes):
    p = [div(nc[c], np_[c]) for c in classes]
    r = [div(nc[c], ng[c]) for c in classes]
    cp = sum(p) / len(p) if p else 0.0
    cr = sum(r) / len(r) if r else 0.0
    op, or_ = div(sum(nc), sum(np_)), div(sum(nc), sum(ng))
    f1 = [div(2 * a * b, a + b) for a, b in zip(p, r)]
    return {'CP': 100 * cp, 'CR': 100 * cr, 'CF1': 100 * div(2 * cp * cr, cp + cr),
            'OP': 100 * op, 'OR': 100 * or_, 'OF1': 100 * div(2 * op * or_, op + or_),
            'mean-F1': 100 * (sum(f1) / len(f1) if f1 else 0.0)}


def ref_topk(row, k):
    order = sorted(range(len(row)), key=lambda c: -row[c])
    return set(order[:k])


def ref_suite(scores, targets, thr, k=3, topk_thr=False, empty_class='zero'):
    scores, targets = scores.tolist(), targets.tolist()
    n, kc = len(scores), len(scores[0])
    thr_c = thr if isinstance(thr, list) else [thr] * kc
    cols = [[scores[i][c] for i in range(n)] for c in range(kc)]
    tcols = [[targets[i][c] for i in range(n)] for c in range(kc)]
    ng = [sum(1 for t in tcols[c] if t == 1) for c in range(kc)]
    classes = [c for c in range(kc) if empty_class == 'zero' or ng[c] > 0]
    aps = [ref_ap(cols[c], tcols[c]) for c in range(kc)]
    out = {'mAP': 100 * sum(aps[c] for c in classes) / len(classes) if classes else 0.0}
    pred = [[scores[i][c] >= thr_c[c] for c in range(kc)] for i in range(n)]
    out.update(ref_rates(*ref_counts(pred, targets), classes))
    top = [ref_topk(scores[i], k) for i in range(n)]
    pred = [[c in top[i] and (not topk_thr or scores[i][c] >= thr_c[c]) for c in range(kc)]
            for i in range(n)]
    out.update({f'{key}-top{k}': v
                for key, v in ref_rates(*ref_counts(pred, targets), classes).items()})
    return out, [100 * a for a in aps]


def make_case(seed, n=60, k=7, decimals=1):
    """Scores rounded to create ties; class 5 has no positive, class 6 has
    ignored entries; some images are all negative, one is all ignored."""
    rng = np.random.default_rng(seed)
    targets = (rng.random((n, k)) < 0.3).astype(np.float32)
    targets[:, 5] = 0
    targets[rng.random(n) < 0.25, 6] = -1
    targets[:8] = 0  # all-negative images
    targets[8] = -1  # an image whose labels are all ignored
    scores = rng.random((n, k)).astype(np.float32)
    scores = np.clip(scores + 0.3 * (targets > 0), 0, 1)
    if decimals is not None:
        scores = np.round(scores, decimals).astype(np.float32)
    return torch.from_numpy(scores), torch.from_numpy(targets)


# --------------------------------------------------------------- formulas


@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('empty_class', ['zero', 'exclude'])
def test_suite_matches_loop_reference_with_ties_and_ignored(seed, empty_class):
    scores, targets = make_case(seed)
    assert len(set(scores[:, 0].tolist())) < len(scores)  # the case has ties
    got = multilabel_metrics(scores, targets, thr=0.5, topk=3,
                             empty_class=empty_class, classwise=True)
    want, aps = ref_suite(scores, targets, 0.5, empty_class=empty_class)
    assert got['AP_classwise'] == pytest.approx(aps, abs=1e-9)
    # (top-k is checked on tie-free rows below: torch.topk breaks ties arbitrarily)
    for key in ('mAP', 'CP', 'CR', 'CF1', 'OP', 'OR', 'OF1', 'mean-F1'):
        assert got[key] == pytest.approx(want[key], abs=1e-9), key
    assert got['AP_classwise'][5] == 0.0  # the class without positives


@pytest.mark.parametrize('topk_thr', [False, True])
def test_topk_and_per_class_thresholds_match_reference(topk_thr):
    scores, targets = make_case(3, decimals=None)  # no ties within a row
    thr = [0.3, 0.5, 0.7, 0.45, 0.6, 0.5, 0.2]
    got = multilabel_metrics(scores, targets, thr=thr, topk=3, topk_thr=topk_thr)
    want, _ = ref_suite(scores, targets, thr, topk_thr=topk_thr)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-9), key


def test_tied_scores_form_one_threshold():
    """Ranks 2 and 3 tie: both positives and the negative count at 0.8, so
    AP = (1 + 2/3) / 2 (scikit-learn's value), whatever the sort order."""
    for order in ([0, 1, 2, 3], [0, 2, 1, 3]):
        scores = torch.tensor([0.9, 0.8, 0.8, 0.1])[order, None]
        targets = torch.tensor([1., 0., 1., 0.])[order, None]
        got = multilabel_metrics(scores, targets, topk=None)['mAP']
        assert got == pytest.approx(100 * (1 + 2 / 3) / 2)


def test_zero_denominators_give_zero_not_nan():
    scores = torch.tensor([[0.1, 0.9], [0.2, 0.8]])
    targets = torch.tensor([[0., 1.], [0., 1.]])  # class 0: no positive, no prediction
    got = multilabel_metrics(scores, targets, topk=1)
    assert all(math.isfinite(v) for v in got.values())
    assert got['CP'] == 50.0 and got['CR'] == 50.0 and got['OP'] == 100.0
    excl = multilabel_metrics(scores, targets, topk=1, empty_class='exclude')
    assert excl['CP'] == 100.0 and excl['mAP'] == 100.0
    nothing = multilabel_metrics(torch.zeros(2, 2), -torch.ones(2, 2), empty_class='exclude')
    assert all(v == 0.0 for v in nothing.values())


def test_nan_scores_and_bad_shapes_raise():
    scores, targets = make_case(0)
    scores[3, 2] = float('nan')
    with pytest.raises(ValueError, match='NaN'):
        multilabel_metrics(scores, targets)
    with pytest.raises(ValueError, match='shape'):
        multilabel_metrics(torch.rand(4, 3), torch.zeros(4, 2))
    with pytest.raises(ValueError, match='empty_class'):
        multilabel_metrics(torch.rand(4, 3), torch.zeros(4, 3), empty_class='skip')


@pytest.mark.parametrize('seed', [0, 1])
def test_agrees_with_mmpretrain_where_definitions_coincide(seed):
    """Without ties: mAP = AveragePrecision; CP/CR/mean-F1 = macro
    MultiLabelMetric; OP/OR/OF1 = micro MultiLabelMetric (ignored -1 too)."""
    scores, targets = make_case(seed, decimals=None)
    got = multilabel_metrics(scores, targets, thr=0.5, topk=3)
    assert got['mAP'] == pytest.approx(AveragePrecision.calculate(scores, targets).item(),
                                       abs=1e-4)
    for suffix, kw in (('', dict(thr=0.5)), ('-top3', dict(topk=3))):
        p, r, f1, _ = MultiLabelMetric.calculate(scores, targets.clone(), average='macro', **kw)
        assert got['CP' + suffix] == pytest.approx(p.item(), abs=1e-4)
        assert got['CR' + suffix] == pytest.approx(r.item(), abs=1e-4)
        assert got['mean-F1' + suffix] == pytest.approx(f1.item(), abs=1e-4)
        p, r, f1, _ = MultiLabelMetric.calculate(scores, targets.clone(), average='micro', **kw)
        assert got['OP' + suffix] == pytest.approx(p.item(), abs=1e-4)
        assert got['OR' + suffix] == pytest.approx(r.item(), abs=1e-4)
        assert got['OF1' + suffix] == pytest.approx(f1.item(), abs=1e-4)


def test_large_matrix_is_consistent():
    """A COCO-like density on a bigger matrix: AP per class equals
    MMPretrain's (no ties in continuous scores)."""
    g = torch.Generator().manual_seed(0)
    targets = (torch.rand(3000, 80, generator=g) < 0.04).float()
    raw = torch.randn(3000, 80, generator=g) + 2 * targets
    scores = (raw.argsort(0).argsort(0).float() + 0.5) / 3000  # distinct per class
    got = multilabel_metrics(scores, targets, classwise=True)
    want = AveragePrecision.calculate(scores, targets, average=None)
    assert np.allclose(got['AP_classwise'], want.numpy(), atol=1e-3)


# ------------------------------------------------------------ metric class


def _samples(scores, targets, fmt):
    out = []
    for s, t in zip(scores, targets):
        sample = dict(pred_score=s.clone())
        if fmt == 'gt_score':
            sample['gt_score'] = t.clone()
        else:
            sample['gt_label'] = torch.nonzero(t == 1).flatten()
        out.append(sample)
    return out


@pytest.mark.parametrize('fmt', ['gt_score', 'gt_label'])
def test_metric_class_reads_gt_score_and_gt_label(fmt):
    scores, targets = make_case(4)
    if fmt == 'gt_label':
        targets = targets.clamp(min=0)  # index labels cannot carry -1
    metric = MultiLabelSuite(classwise=True)
    metric.process(None, _samples(scores, targets, fmt))
    got = metric.evaluate(len(scores))
    want = multilabel_metrics(scores, targets, classwise=True)
    assert got == {f'multi-label/{k}': v for k, v in want.items()}


def test_voc_difficult_labels_are_ignored_as_in_mmpretrain():
    scores, targets = make_case(5, decimals=None)
    targets = targets.clamp(min=0)
    rng = np.random.default_rng(0)
    samples = []
    for s, t in zip(scores, targets):
        labels = torch.nonzero(t == 1).flatten()
        difficult = sorted(set(rng.choice(7, 2).tolist()) | set(labels[:1].tolist()))
        samples.append(dict(pred_score=s.clone(), gt_label=labels,
                            gt_label_difficult=difficult))
    ours = MultiLabelSuite(topk=None)
    ours.process(None, [dict(x) for x in samples])
    got = ours.evaluate(len(samples))
    ap, macro = VOCAveragePrecision(), VOCMultiLabelMetric(average='macro')
    micro = VOCMultiLabelMetric(average='micro')
    for m in (ap, macro, micro):
        m.process(None, [dict(x) for x in samples])
    assert got['multi-label/mAP'] == pytest.approx(
        ap.evaluate(len(samples))['multi-label/mAP'], abs=1e-4)
    want = macro.evaluate(len(samples))
    assert got['multi-label/CP'] == pytest.approx(want['multi-label/precision'], abs=1e-4)
    assert got['multi-label/CR'] == pytest.approx(want['multi-label/recall'], abs=1e-4)
    want = micro.evaluate(len(samples))
    assert got['multi-label/OF1'] == pytest.approx(want['multi-label/f1-score_micro'], abs=1e-4)
    # and the difficult-only labels really were left out
    ignore = MultiLabelSuite(topk=None, difficult_as_positive=False)
    ignore.process(None, [dict(x) for x in samples])
    assert ignore.evaluate(len(samples))['multi-label/mAP'] != got['multi-label/mAP']


def test_thresholds_file_is_matched_to_dataset_classes(tmp_path):
    scores, targets = make_case(6, decimals=None)
    classes = [f'c{i}' for i in range(7)]
    thr = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    path = tmp_path / 'thr.json'
    path.write_text(json.dumps({c: t for c, t in reversed(list(zip(classes, thr)))}))
    metric = METRICS.build(dict(type='MultiLabelSuite', thr=str(path), adapt_thr=thr,
                                topk=None))
    metric.dataset_meta = dict(classes=classes)
    metric.process(None, _samples(scores, targets, 'gt_score'))
    got = metric.evaluate(len(scores))
    want = multilabel_metrics(scores, targets, thr=thr, topk=None)
    assert got['multi-label/CF1'] == pytest.approx(want['CF1'])
    assert got['multi-label/CF1-adapt'] == pytest.approx(want['CF1'])


def test_bad_configuration_fails_at_build_time(tmp_path):
    with pytest.raises(ValueError, match='missing.json'):
        MultiLabelSuite(thr=str(tmp_path / 'missing.json'))
    with pytest.raises(ValueError, match='1.5'):
        MultiLabelSuite(thr=1.5)
    with pytest.raises(ValueError, match='empty_class'):
        MultiLabelSuite(empty_class='drop')
    with pytest.raises(ValueError, match='topk'):
        MultiLabelSuite(topk=0)
    with pytest.raises(ValueError, match='adapt_thr'):
        MultiLabelSuite(adapt_thr=0.4)
    metric = MultiLabelSuite(thr=[0.5, 0.5])
    metric.process(None, _samples(*make_case(0), 'gt_score'))
    with pytest.raises(ValueError, match='2 thresholds for 7 classes'):
        metric.evaluate(60)


def test_runs_inside_an_mmengine_evaluator_next_to_stock_metrics():
    scores, targets = make_case(7, decimals=None)
    from mmengine.registry import DefaultScope
    from mmpretrain.structures import DataSample
    with DefaultScope.overwrite_default_scope('mmpretrain'):  # as a runner sets it
        evaluator = Evaluator([dict(type='MultiLabelSuite', prefix='suite'),
                               dict(type='AveragePrecision')])
    evaluator.process([DataSample().set_pred_score(s).set_gt_score(t)
                       for s, t in zip(scores, targets)])
    got = evaluator.evaluate(len(scores))
    assert got['suite/mAP'] == pytest.approx(got['multi-label/mAP'], abs=1e-4)
    assert {'suite/CF1', 'suite/OF1-top3', 'suite/mean-F1'} <= set(got)


# ------------------------------------------------------------- distributed


def _evaluate_shard(world_size, out_dir):
    """Feed this rank's share of 37 samples, as a distributed loader would
    (DefaultSampler pads to a multiple of the world size), then evaluate."""
    from mmengine.dataset import DefaultSampler

    from mmpretrain_multilabel.evaluation.metrics import ThresholdTuningMetric
    scores, targets = make_case(8, n=37)
    metrics = [MultiLabelSuite(classwise=True),
               ThresholdTuningMetric(out_file=f'{out_dir}/thr{world_size}.json', prefix='tune')]
    for m in metrics:
        m.dataset_meta = dict(classes=[f'c{i}' for i in range(7)])
    indices = list(DefaultSampler(list(range(37)), shuffle=False))
    for start in range(0, len(indices), 4):
        batch = indices[start:start + 4]
        for m in metrics:
            m.process(None, _samples(scores[batch], targets[batch], 'gt_score'))
    result = {}
    for m in metrics:
        result.update(m.evaluate(37))
    return result


def _dist_worker(rank, world_size, init_file, out_dir):
    import datetime

    import torch.distributed as dist
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world_size, timeout=datetime.timedelta(seconds=60))
    result = _evaluate_shard(world_size, out_dir)
    if rank == 0:
        with open(f'{out_dir}/metrics{world_size}.json', 'w') as f:
            json.dump(result, f)
    dist.barrier()  # no rank tears the file store down while another uses it
    dist.destroy_process_group()


@pytest.mark.slow
def test_two_process_evaluation_equals_one_process(tmp_path):
    """37 samples over 2 ranks (gloo): the sampler pads one duplicate, which
    the collection must drop; metrics and tuned thresholds match 1 process."""
    import torch.multiprocessing as mp
    one = _evaluate_shard(1, str(tmp_path))
    # join with a deadline: a stuck rank fails the test instead of hanging the suite
    ctx = mp.spawn(_dist_worker, args=(2, str(tmp_path / 'init'), str(tmp_path)), nprocs=2,
                   join=False)
    deadline = time.monotonic() + 300
    while not ctx.join(timeout=5):
        if time.monotonic() > deadline:
            for p in ctx.processes:
                p.kill()
            pytest.fail('2-process evaluation did not finish in 300 s')
    two = json.loads((tmp_path / 'metrics2.json').read_text())
    assert one.keys() == two.keys() and 'tune/OF1-adapt' in one
    for key, value in one.items():
        assert two[key] == pytest.approx(value, abs=1e-9), key
    assert (json.loads((tmp_path / 'thr1.json').read_text())
            == json.loads((tmp_path / 'thr2.json').read_text()))


def test_batch_targets_equal_per_sample_targets():
    from mmpretrain_multilabel.evaluation.metrics import batch_targets, gt_score_of
    scores, targets = make_case(9, decimals=None)
    targets = targets.clamp(min=0)
    for fmt in ('gt_label', 'gt_score'):
        samples = _samples(scores, targets, fmt)
        want = torch.stack([gt_score_of(s, 7) for s in samples])
        got = batch_targets(samples, 7)
        assert got.dtype == torch.int8 and torch.equal(got, want)
    with pytest.raises(ValueError, match='label indices'):
        batch_targets([dict(gt_label=torch.tensor([7]))], 7)


def test_interleave_ranks_restores_dataset_order_and_drops_padding():
    from mmpretrain_multilabel.evaluation.metrics import interleave_ranks
    rows = torch.arange(7.).unsqueeze(1)  # sample i scores i
    world, size = 3, 7
    indices = list(range(size)) + [0, 1]  # padded to 9, as DefaultSampler does
    parts = [dict(pred_score=rows[indices[r::world]], gt_score=rows[indices[r::world]],
                  img_path=[f'{i}' for i in indices[r::world]]) for r in range(world)]
    merged = interleave_ranks(parts, size)
    assert merged['pred_score'].flatten().tolist() == list(range(size))
    assert merged['img_path'] == [str(i) for i in range(size)]
    # a rank without samples is skipped
    merged = interleave_ranks([parts[0], None], 2)
    assert merged['pred_score'].flatten().tolist() == [0.0, 3.0]
