"""MultiLabelSuite's batched targets on every sample format the shipped configs
produce (index labels, the one-hot ``gt_score`` of
``ClsDataPreprocessor(to_onehot=True)``, ``gt_score`` with -1, VOC difficult
labels, and mixed batches) against the per-sample reference ``gt_score_of``;
and the suite beside MMPretrain's ``VOCAveragePrecision`` (prefix clash)."""
from typing import Dict, List

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmpretrain.evaluation import AveragePrecision, VOCAveragePrecision
from mmpretrain.models.utils import ClsDataPreprocessor
from mmpretrain.structures import DataSample

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.evaluation import multilabel_metrics
from mmpretrain_multilabel.evaluation.metrics import MultiLabelSuite, batch_targets, gt_score_of
from mmpretrain_multilabel.evaluation.metrics import multilabel_suite as suite_module

K = 7
BATCH = 8
#: formats built through a real ClsDataPreprocessor, as the val loop feeds them
PREPROCESSED = ('index', 'onehot', 'ignored', 'voc', 'voc_index')


def label_matrices(seed: int, n: int = 40) -> Dict[str, np.ndarray]:
    """Positives, ignored negatives, difficult-only and difficult-and-plain
    labels; some images without any label."""
    rng = np.random.default_rng(seed)
    positive = rng.random((n, K)) < 0.35
    positive[:3] = False  # negative photos
    draw = rng.random((n, K))
    return dict(positive=positive,
                ignored=~positive & (draw < 0.3),
                only_difficult=positive & (draw < 0.2),
                both=positive & (draw > 0.85))


def packed(fmt: str, m: Dict[str, np.ndarray]) -> List[DataSample]:
    """DataSamples as ``PackInputs`` packs them for one format."""
    samples = []
    for i in range(len(m['positive'])):
        if fmt.startswith('voc'):
            labels = m['positive'][i] & ~m['only_difficult'][i]
            difficult = np.flatnonzero(m['only_difficult'][i] | m['both'][i]).tolist()
            sample = DataSample(metainfo=dict(gt_label_difficult=difficult))
        else:
            labels, sample = m['positive'][i], DataSample()
        sample.set_gt_label(np.flatnonzero(labels))
        if fmt == 'ignored':
            score = m['positive'][i].astype(np.float32)
            score[m['ignored'][i]] = -1
            sample.set_gt_score(score)
        samples.append(sample)
    return samples


def evaluator_batches(fmt: str, seed: int = 0) -> List[List[dict]]:
    """Batches of per-sample dicts after a real ClsDataPreprocessor, with
    ``pred_score`` set, as ``Evaluator.process`` hands them to a metric."""
    samples = packed(fmt, label_matrices(seed))
    pre = ClsDataPreprocessor(num_classes=K, to_onehot=fmt in ('onehot', 'voc'))
    g = torch.Generator().manual_seed(seed)
    batches = []
    for start in range(0, len(samples), BATCH):
        chunk = samples[start:start + BATCH]
        out = pre(dict(inputs=[torch.zeros(3, 2, 2, dtype=torch.uint8)] * len(chunk),
                       data_samples=chunk), training=False)['data_samples']
        scores = torch.rand(len(chunk), K, generator=g)
        batches.append([s.set_pred_score(p).to_dict() for s, p in zip(out, scores)])
    return batches


def odd_types_batch(seed: int = 0) -> List[dict]:
    """One batch mixing every format and the value types a hand-written
    pipeline may leave: lists, ints, numpy arrays, bool scores."""
    m = label_matrices(seed, n=12)
    pos, ign = m['positive'], m['ignored']
    rows = []
    for i in range(12):
        labels = np.flatnonzero(pos[i])
        kind = i % 6
        if kind == 0:
            rows.append(dict(gt_label=labels.tolist()))
        elif kind == 1:
            rows.append(dict(gt_label=int(labels[0]) if len(labels) else []))
        elif kind == 2:  # float32 numpy gt_score with -1, labels alongside
            rows.append(dict(gt_label=labels,
                             gt_score=np.where(ign[i], -1, pos[i]).astype(np.float32)))
        elif kind == 3:  # int64 one-hot and VOC difficult as a tensor
            rows.append(dict(gt_label=torch.from_numpy(labels),
                             gt_score=torch.from_numpy(pos[i].astype(np.int64)),
                             gt_label_difficult=torch.tensor([(i + 1) % K, int(i % K)])))
        elif kind == 4:  # bool gt_score, no gt_label
            rows.append(dict(gt_score=torch.from_numpy(pos[i].copy())))
        else:  # index labels with numpy difficult labels, one also plain
            rows.append(dict(gt_label=torch.from_numpy(labels),
                             gt_label_difficult=np.array([2, 4] + labels[:1].tolist())))
    return rows


def reference(batch: List[dict], difficult_as_positive=None) -> torch.Tensor:
    return torch.stack([gt_score_of(s, K, difficult_as_positive) for s in batch])


@pytest.mark.parametrize('difficult_as_positive', [None, True, False])
@pytest.mark.parametrize('fmt', PREPROCESSED + ('odd_types',))
def test_batch_targets_equal_the_per_sample_reference(fmt, difficult_as_positive):
    batches = [odd_types_batch()] if fmt == 'odd_types' else evaluator_batches(fmt)
    if fmt == 'onehot':  # the format the shipped configs produce
        assert all('gt_score' in s and 'gt_label' in s for b in batches for s in b)
    seen = set()
    for batch in batches:
        want = reference(batch, difficult_as_positive)
        got = batch_targets(batch, K, difficult_as_positive)
        assert got.dtype == torch.int8 and got.shape == (len(batch), K)
        assert torch.equal(got, want)
        seen |= set(want.unique().tolist())
    # the case exercises the format: ignored (-1) targets exactly where expected
    ignores = fmt in ('ignored', 'odd_types') or (fmt.startswith('voc')
                                                  and difficult_as_positive is None)
    assert (-1 in seen) == ignores


@pytest.mark.parametrize('fmt', PREPROCESSED)
def test_suite_never_runs_the_per_sample_path(fmt, monkeypatch):
    """Every format goes through the batched path (the per-sample function is
    only the reference), and the metrics equal those of the reference
    targets."""
    batches = evaluator_batches(fmt, seed=1)
    targets = torch.cat([reference(b) for b in batches])
    scores = torch.stack([s['pred_score'] for b in batches for s in b])

    def per_sample(*args, **kwargs):
        raise AssertionError('MultiLabelSuite.process ran gt_score_of')

    monkeypatch.setattr(suite_module, 'gt_score_of', per_sample)
    metric = MultiLabelSuite(classwise=True)
    for batch in batches:
        metric.process(None, batch)
    got = metric.evaluate(len(scores))
    want = multilabel_metrics(scores, targets, classwise=True)
    assert got == {f'multi-label/{k}': v for k, v in want.items()}


def test_target_shapes_and_named_errors():
    rows = [dict(gt_score=torch.tensor([[1, 0, -1, 0, 0, 1, 0]])) for _ in range(3)]
    assert torch.equal(batch_targets(rows, K), reference(rows).reshape(3, K))  # (1, K) rows
    with pytest.raises(ValueError, match=r'gt_label label indices must be in \[0, 7\)'):
        batch_targets([dict(gt_label=torch.tensor([7]))], K)
    with pytest.raises(ValueError, match='got -1 to 1'):
        batch_targets([dict(gt_label=[-1, 1])], K)
    with pytest.raises(ValueError, match='gt_label_difficult'):
        batch_targets([dict(gt_label=[1], gt_label_difficult=[9])], K)
    with pytest.raises(ValueError, match=r'gt_score must have 7 entries.*\(5,\)'):
        batch_targets([dict(gt_score=torch.ones(7)), dict(gt_score=torch.ones(5))], K)
    with pytest.raises(ValueError, match='sample 1 of the batch has neither'):
        batch_targets([dict(gt_label=[1]), dict(pred_score=torch.ones(7))], K)
    assert batch_targets([], K).shape == (0, K)
    rows = [dict(gt_label=[1], gt_label_difficult=None), dict(gt_label=[2], gt_label_difficult=[])]
    assert torch.equal(batch_targets(rows, K), reference(rows))


def test_interleave_ranks_of_one_process_keeps_order_and_cuts_at_size():
    from mmpretrain_multilabel.evaluation.metrics import interleave_ranks
    rows = torch.arange(5.).unsqueeze(1)
    part = dict(pred_score=rows, gt_score=rows, img_path=list('abcde'))
    merged = interleave_ranks([part], 4)
    assert merged['pred_score'].flatten().tolist() == [0., 1., 2., 3.]
    assert merged['img_path'] == list('abcd')
    assert interleave_ranks([None], 4) is None


@pytest.mark.parametrize('decimals', [1, 2, None])
def test_topk_indices_select_torch_topk_sets_under_ties(decimals):
    """The fast top-k takes the same set per row as ``torch.topk`` (the
    tie-breaking MMPretrain's top-k metrics use), ties at the k-th place
    included (rounded scores, rows of one value, -inf)."""
    from mmpretrain_multilabel.evaluation.functional import topk_indices
    rng = np.random.default_rng(0)
    scores = rng.random((500, 20)).astype(np.float32)
    if decimals is not None:
        scores = np.round(scores, decimals).astype(np.float32)
    scores[:5] = 0.5
    scores[5, 3:] = -np.inf
    scores = torch.from_numpy(scores)
    for k in (1, 3, 5, 20, 25):
        got = np.sort(topk_indices(scores, k), axis=1)
        want = np.sort(scores.topk(min(k, 20), dim=1).indices.numpy(), axis=1)
        assert np.array_equal(got, want), k


@pytest.mark.parametrize('ignored', [0.05, 0.6])
def test_ignored_entries_count_as_if_removed(ignored):
    """Few or many ignored targets (the two ways the sorted counts are read)
    give, per class, the metrics of that class's valid entries alone; scores
    rounded to two decimals, so runs of ties too."""
    rng = np.random.default_rng(3)
    scores = np.round(rng.random((400, 6)), 2).astype(np.float32)
    targets = (rng.random((400, 6)) < 0.3).astype(np.float32)
    targets[rng.random((400, 6)) < ignored] = -1
    full = multilabel_metrics(scores, targets, topk=None, classwise=True)
    per_class = []
    for c in range(6):
        keep = targets[:, c] >= 0
        per_class.append(multilabel_metrics(scores[keep, c:c + 1], targets[keep, c:c + 1],
                                            topk=None, classwise=True))
    assert full['AP_classwise'] == pytest.approx([m['mAP'] for m in per_class], abs=1e-12)
    for key in ('CP', 'CR', 'mean-F1'):
        assert full[key] == pytest.approx(np.mean([m[key] for m in per_class]), abs=1e-12)


# ------------------------------------------------------------------ prefix


def test_default_prefix_keeps_mmpretrain_keys_and_the_clash_is_documented():
    """The suite keeps MMPretrain's ``multi-label/mAP`` key (a drop-in for
    ``AveragePrecision``: ``save_best='multi-label/mAP'`` keeps working), so
    beside ``VOCAveragePrecision`` MMEngine refuses the duplicate key instead
    of silently keeping one; the docstring says so and names the fix, which
    gives both sets of keys with the same mAP."""
    batches = evaluator_batches('voc', seed=2)
    size = sum(len(b) for b in batches)

    def run(metrics):
        evaluator = Evaluator(metrics)
        for batch in batches:
            evaluator.process(batch)
        return evaluator.evaluate(size)

    alone = run([MultiLabelSuite()])
    stock = run([AveragePrecision()])
    assert set(stock) <= set(alone)  # the stock key, same name
    with pytest.raises(ValueError, match='multi-label/mAP'):
        run([VOCAveragePrecision(), MultiLabelSuite()])
    doc = ' '.join(MultiLabelSuite.__doc__.split())
    assert 'VOCAveragePrecision' in doc and "prefix='suite'" in doc
    both = run([VOCAveragePrecision(), MultiLabelSuite(prefix='suite')])
    assert both['suite/mAP'] == pytest.approx(both['multi-label/mAP'], abs=1e-4)
    assert both['suite/mAP'] == alone['multi-label/mAP']
