"""Vectorised multilabel metrics and per-class threshold tuning.

Pure functions on ``(N, K)`` score and target arrays (N samples, K classes),
with the definitions of ML-GCN (Chen et al. 2019,
https://arxiv.org/abs/1904.03582) that Prokofiev & Sovrasov 2022
(https://arxiv.org/abs/2209.06585) report with:

- AP per class, non-interpolated (mean over positives of the precision at
  their rank); tied scores form one threshold, as in scikit-learn's
  ``average_precision_score``.
- At a threshold (``score >= thr`` is positive, as MMPretrain's
  ``MultiLabelMetric``) or for the top-k scores of each sample, per class
  ``Nc`` (correct positives), ``Np`` (predicted positives), ``Ng``
  (ground-truth positives), then CP, CR, CF1 = 2 CP CR / (CP + CR)
  (ML-GCN, Q2L, https://arxiv.org/abs/2209.06585), OP, OR, OF1 and the mean
  of per-class F1 (what MMPretrain's ``MultiLabelMetric(average='macro')``
  calls f1-score). A ratio with a zero denominator is 0, never NaN.

Targets use MMPretrain's ``gt_score`` convention: 1 positive, 0 negative,
-1 ignored (such as VOC "difficult" labels). Ignored entries count neither as
positives nor as predictions; they are not removed from the top-k ranking.

Scores are compared in float32 (the precision of MMPretrain's
``pred_score``). Everything derives from one sort per class of packed
integer keys and cumulative counts: counts at any threshold are a binary
search in the sorted rows, so no ``(N, K)`` pass is repeated per metric.
``benchmarks/metrics.py`` times it at COCO sizes.
"""
from typing import Dict, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import torch

ArrayLike = Union[torch.Tensor, np.ndarray, Sequence]
Thr = Union[float, Sequence[float], np.ndarray]

#: Rules for a class with no positive target: ``'zero'`` counts it with
#: AP = 0 (and P = R = F1 = 0) in the class means, as MMPretrain's
#: ``AveragePrecision``, ASL and ML-Decoder do; ``'exclude'`` leaves it out
#: of every class mean (mAP, CP, CR, mean F1).
EMPTY_CLASS_RULES = ('zero', 'exclude')

_FLIP = np.int32(0x7fffffff)


def _as_tensor(x: ArrayLike, name: str) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    elif not isinstance(x, torch.Tensor):
        x = torch.as_tensor(np.asarray(x))
    if x.ndim != 2:
        raise ValueError(f'{name} must have shape (N, num_classes), got '
                         f'{tuple(x.shape)}')
    return x.detach().cpu()


def prepare(scores: ArrayLike,
            targets: ArrayLike) -> Tuple[torch.Tensor, torch.Tensor,
                                         torch.Tensor]:
    """Check inputs; return float32 scores, positive and valid masks.

    Args:
        scores: ``(N, K)`` prediction scores; must be finite.
        targets: ``(N, K)`` targets: ``> 0.5`` positive, ``< 0`` ignored,
            otherwise negative.

    Returns:
        tuple: ``scores`` (float32), ``pos`` (bool) and ``valid`` (bool,
        False where the target is ignored), each ``(N, K)``.

    Raises:
        ValueError: Shapes differ or a score is NaN or infinite.
    """
    scores = _as_tensor(scores, 'scores').float()
    targets = _as_tensor(targets, 'targets')
    if scores.shape != targets.shape:
        raise ValueError(f'scores {tuple(scores.shape)} and targets '
                         f'{tuple(targets.shape)} differ in shape')
    if not torch.isfinite(scores).all():
        bad = (~torch.isfinite(scores)).nonzero()[0].tolist()
        raise ValueError(f'scores contain NaN or inf (first at sample '
                         f'{bad[0]}, class {bad[1]})')
    targets = targets.float()
    return scores, targets > 0.5, targets >= 0


# ------------------------------------------------------------------ sorting


def _float_keys(values: np.ndarray) -> np.ndarray:
    """float32 -> integers with the same order (ties stay ties): uint32 for
    values in [0, 2) (probabilities; a faster sort), int64 otherwise."""
    bits = (values + np.float32(0)).view(np.int32)  # + 0 turns -0.0 into 0.0
    if bits.size == 0 or (bits.min() >= 0 and bits.max() < 1 << 30):
        return bits.view(np.uint32).copy()
    return np.where(bits < 0, bits ^ _FLIP, bits).astype(np.int64)


def key_to_score(keys: np.ndarray) -> np.ndarray:
    """float32 scores back from :func:`_float_keys` keys."""
    bits = keys.astype(np.int32)
    return np.where(bits < 0, bits ^ _FLIP, bits).view(np.float32)


class SortedScores(NamedTuple):
    """Per-class scores sorted in descending order, with running counts.

    Arrays are numpy ``(K, N)``: row ``c`` is class ``c``.

    Attributes:
        keys: Sorted scores as order-preserving integers
            (:func:`key_to_score` turns them back).
        pos: Positive target at each rank.
        group_end: True at the last rank of each run of tied scores: the
            candidate thresholds (``score >= score at that rank``).
        tp: Positives at or above each rank (cumulative).
        pp: Valid (not ignored) samples at or above each rank: the predicted
            positives if the threshold is that rank's score.
        num_pos: ``(K,)`` positives per class.
    """
    keys: np.ndarray
    pos: np.ndarray
    group_end: np.ndarray
    tp: np.ndarray
    pp: np.ndarray
    num_pos: np.ndarray


def sort_scores(scores: torch.Tensor, pos: torch.Tensor,
                valid: torch.Tensor) -> SortedScores:
    """Sort each class's scores once; see :class:`SortedScores`.

    Score, validity and target of an entry are packed into one integer key
    (score bits shifted left by 2), so a plain value sort replaces an
    argsort and gathers (several times faster); the order inside a run of
    ties does not matter because only run ends are used.
    """
    keys = _float_keys(scores.t().contiguous().numpy())
    one = keys.dtype.type(1)
    two = keys.dtype.type(2)
    keys <<= two
    keys |= valid.t().numpy().astype(keys.dtype) << one
    keys |= pos.t().numpy().astype(keys.dtype)
    keys = ~np.sort(~keys, axis=1)  # descending: ~ reverses the order
    p = (keys & one).astype(bool)
    v = (keys & two).astype(bool)
    keys >>= two
    group_end = np.ones(keys.shape, dtype=bool)
    np.not_equal(keys[:, :-1], keys[:, 1:], out=group_end[:, :-1])
    tp = np.cumsum(p, axis=1, dtype=np.int64)
    pp = np.cumsum(v, axis=1, dtype=np.int64)
    num_pos = tp[:, -1].copy() if tp.shape[1] else np.zeros(len(tp), np.int64)
    return SortedScores(keys, p, group_end, tp, pp, num_pos)


def _ratio(a, b) -> np.ndarray:
    """``a / b`` (float64) with 0 where ``b == 0``: 0/0 is never NaN."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape),
                     where=b > 0)


def _f1(p, r) -> np.ndarray:
    return _ratio(2 * np.asarray(p) * r, np.asarray(p) + r)


# ------------------------------------------------------------------ metrics


def average_precision(ss: SortedScores) -> np.ndarray:
    """Non-interpolated AP per class in [0, 1] (0 for a class without
    positives; :data:`EMPTY_CLASS_RULES` says how class means treat it).

    All positives of a run of tied scores take the precision at the end of
    the run, so tied scores form one threshold (scikit-learn's rule);
    MMPretrain's ``AveragePrecision`` ranks ties in sort order instead.
    """
    if ss.tp.shape[1] == 0:
        return np.zeros(len(ss.tp))
    # positives gained in each run: tp at its end minus tp at the end before
    last_end_tp = np.maximum.accumulate(np.where(ss.group_end, ss.tp, 0),
                                        axis=1)
    gained = ss.tp.copy()
    gained[:, 1:] -= last_end_tp[:, :-1]
    total = np.where(ss.group_end, gained * _ratio(ss.tp, ss.pp), 0.0).sum(1)
    return _ratio(total, ss.num_pos)


def threshold_counts(ss: SortedScores,
                     thr: Thr) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per class ``Nc``, ``Np``, ``Ng`` for ``score >= thr`` (one threshold
    or one per class), by binary search in the sorted scores.

    A float64 threshold ``t`` selects the float32 scores ``>= t``, that is
    those ``>=`` the smallest float32 not below ``t``.
    """
    k, n = ss.keys.shape
    t = np.asarray(thr, np.float64)
    if t.ndim == 1 and t.size != k:
        raise ValueError(f'{t.size} thresholds for {k} classes')
    t = np.broadcast_to(t, (k,))
    t32 = t.astype(np.float32)
    t32 = np.where(t32 < t, np.nextafter(t32, np.float32(np.inf)), t32)
    bits = t32.view(np.int32)
    t_keys = np.where(bits < 0, bits ^ _FLIP, bits).astype(np.int64)
    above = np.array([
        n - np.searchsorted(ss.keys[c, ::-1].astype(np.int64), t_keys[c])
        for c in range(k)
    ], dtype=np.int64)
    at = np.maximum(above - 1, 0)
    rows = np.arange(k)
    nc = np.where(above > 0, ss.tp[rows, at], 0) if n else np.zeros(k, int)
    np_ = np.where(above > 0, ss.pp[rows, at], 0) if n else np.zeros(k, int)
    return nc, np_, ss.num_pos


def topk_counts(scores: torch.Tensor,
                pos: torch.Tensor,
                valid: torch.Tensor,
                k: int,
                thr: Optional[Thr] = None
                ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per class ``Nc``, ``Np``, ``Ng`` when the ``k`` highest scores of each
    sample are positive (ties broken by ``torch.topk``, as MMPretrain); with
    ``thr`` they must also reach it (ML-GCN's top-3 rule)."""
    num_classes = scores.shape[1]
    idx = scores.topk(min(k, num_classes), dim=1).indices
    predicted = valid.gather(1, idx)
    if thr is not None:
        t = torch.as_tensor(np.broadcast_to(np.asarray(thr, np.float64),
                                            (num_classes,)).copy())
        predicted &= scores.gather(1, idx).double() >= t[idx]
    hit = predicted & pos.gather(1, idx)
    # one bincount of (class, predicted, hit) codes instead of masked copies
    code = idx * 4 + predicted.long() * 2 + hit.long()
    table = torch.bincount(code.flatten(), minlength=4 * num_classes)
    table = table.view(num_classes, 4).numpy()
    return table[:, 3], table[:, 2] + table[:, 3], pos.sum(0).numpy()


def rates_from_counts(nc: np.ndarray,
                      np_: np.ndarray,
                      ng: np.ndarray,
                      class_mask: Optional[np.ndarray] = None
                      ) -> Dict[str, float]:
    """CP, CR, CF1, OP, OR, OF1 and mean per-class F1, in percent.

    Args:
        nc, np_, ng: ``(K,)`` correct, predicted and ground-truth positives.
        class_mask: ``(K,)`` classes entering the class means (CP, CR,
            mean-F1); all by default. The overall rates use every class.
    """
    p, r = _ratio(nc, np_), _ratio(nc, ng)
    if class_mask is not None:
        p, r = p[class_mask], r[class_mask]
    cp, cr = (p.mean(), r.mean()) if p.size else (0.0, 0.0)
    mean_f1 = _f1(p, r).mean() if p.size else 0.0
    op = _ratio(np.sum(nc), np.sum(np_))
    or_ = _ratio(np.sum(nc), np.sum(ng))
    values = {'CP': cp, 'CR': cr, 'CF1': _f1(cp, cr), 'OP': op, 'OR': or_,
              'OF1': _f1(op, or_), 'mean-F1': mean_f1}
    return {k: float(v) * 100 for k, v in values.items()}


def class_mask_for(num_pos: np.ndarray, empty_class: str) -> np.ndarray:
    """Classes that enter class means under the ``empty_class`` rule."""
    if empty_class not in EMPTY_CLASS_RULES:
        raise ValueError(f'empty_class must be one of {EMPTY_CLASS_RULES}, '
                         f'got {empty_class!r}')
    if empty_class == 'exclude':
        return np.asarray(num_pos) > 0
    return np.ones(len(num_pos), dtype=bool)


def _tune_sorted(ss: SortedScores,
                 default: Thr) -> Tuple[np.ndarray, np.ndarray]:
    k, n = ss.keys.shape
    thr = np.broadcast_to(np.asarray(default, np.float64), (k,)).copy()
    best_f1 = np.zeros(k)
    if n == 0:
        return thr, best_f1
    f1 = _ratio(2 * ss.tp, ss.pp + ss.num_pos[:, None])
    f1[~ss.group_end] = -1.0
    best = f1.argmax(axis=1)  # the first maximum: the highest threshold
    rows = np.arange(k)
    at = key_to_score(ss.keys[rows, best]).astype(np.float64)
    below = key_to_score(ss.keys[rows, np.minimum(best + 1, n - 1)])
    tuned = np.where(best < n - 1, (at + below.astype(np.float64)) / 2, at)
    has_pos = ss.num_pos > 0
    thr[has_pos] = tuned[has_pos]
    best_f1[has_pos] = f1[rows, best][has_pos]
    return thr, best_f1


def _suite(scores, pos, valid, ss: SortedScores, thr: Thr,
           topk: Optional[int], topk_thr: bool, adapt_thr: Optional[Thr],
           empty_class: str, classwise: bool) -> Dict[str, object]:
    mask = class_mask_for(ss.num_pos, empty_class)
    ap = average_precision(ss)
    out: Dict[str, object] = dict(
        mAP=float(ap[mask].mean()) * 100 if mask.any() else 0.0)
    out.update(rates_from_counts(*threshold_counts(ss, thr), mask))
    if topk is not None:
        nc, np_, _ = topk_counts(scores, pos, valid, topk,
                                 thr if topk_thr else None)
        rates = rates_from_counts(nc, np_, ss.num_pos, mask)
        out.update({f'{key}-top{topk}': v for key, v in rates.items()})
    if adapt_thr is not None:
        counts = threshold_counts(ss, adapt_thr)
        out.update({f'{key}-adapt': v
                    for key, v in rates_from_counts(*counts, mask).items()})
    if classwise:
        out['AP_classwise'] = (ap * 100).tolist()
    return out


def multilabel_metrics(scores: ArrayLike,
                       targets: ArrayLike,
                       thr: Thr = 0.5,
                       topk: Optional[int] = 3,
                       topk_thr: bool = False,
                       adapt_thr: Optional[Thr] = None,
                       empty_class: str = 'zero',
                       classwise: bool = False) -> Dict[str, object]:
    """All metrics of the suite in one pass; values in percent.

    Args:
        scores: ``(N, K)`` scores.
        targets: ``(N, K)`` targets (1 / 0 / -1 ignored).
        thr: One threshold or one per class.
        topk: Also report the metrics of the top-k predictions
            (keys ``<name>-top<k>``); None skips them.
        topk_thr: Top-k predictions must also reach ``thr`` (ML-GCN);
            MMPretrain's rule (False) takes the top k regardless.
        adapt_thr: Per-class tuned thresholds; adds ``<name>-adapt`` keys.
        empty_class: Rule for classes without positives, one of
            :data:`EMPTY_CLASS_RULES`.
        classwise: Add ``AP_classwise`` (list, percent).

    Returns:
        dict: ``mAP``, ``CP``, ``CR``, ``CF1``, ``OP``, ``OR``, ``OF1``,
        ``mean-F1``, the top-k and adapt variants, optionally
        ``AP_classwise``. With ``empty_class='exclude'`` and no class with
        positives, the class means are 0.
    """
    scores, pos, valid = prepare(scores, targets)
    ss = sort_scores(scores, pos, valid)
    return _suite(scores, pos, valid, ss, thr, topk, topk_thr, adapt_thr,
                  empty_class, classwise)


def _check_probabilities(scores: torch.Tensor) -> None:
    if scores.numel() and (scores.min() < 0 or scores.max() > 1):
        raise ValueError('threshold tuning needs scores in [0, 1] '
                         f'(got {float(scores.min())} to '
                         f'{float(scores.max())}); pass probabilities')


def tune_thresholds(scores: ArrayLike,
                    targets: ArrayLike,
                    default: Thr = 0.5) -> Tuple[np.ndarray, np.ndarray]:
    """Per class, the threshold that maximises that class's F1.

    Candidates are the distinct scores (``score >= t`` is positive). The
    chosen threshold is halfway between the best candidate and the next lower
    score (the candidate itself when it is the lowest), so that it separates
    the same samples. Among equal F1 the highest threshold wins. F1 is
    ``2 tp / (predicted + positives)``, whose denominator is positive for a
    class with positives; a class without positives keeps ``default``.

    Args:
        scores: ``(N, K)`` scores in [0, 1] (probabilities).
        targets: ``(N, K)`` targets (1 / 0 / -1 ignored).
        default: Threshold of classes without positives (one, or one per
            class).

    Returns:
        tuple: ``(K,)`` thresholds (float64) and ``(K,)`` best F1 (0 to 1;
        0 for classes without positives).
    """
    scores, pos, valid = prepare(scores, targets)
    _check_probabilities(scores)
    return _tune_sorted(sort_scores(scores, pos, valid), default)


def tune_and_evaluate(scores: ArrayLike,
                      targets: ArrayLike,
                      default: Thr = 0.5,
                      **suite_kwargs) -> Tuple[np.ndarray, Dict[str, object]]:
    """:func:`tune_thresholds`, then :func:`multilabel_metrics` at
    ``default`` and (``-adapt`` keys) at the tuned thresholds, sharing one
    sort.

    Args:
        scores, targets, default: As :func:`tune_thresholds`.
        **suite_kwargs: ``topk``, ``topk_thr``, ``empty_class``,
            ``classwise`` of :func:`multilabel_metrics`.

    Returns:
        tuple: Tuned thresholds and the metrics.
    """
    scores, pos, valid = prepare(scores, targets)
    _check_probabilities(scores)
    ss = sort_scores(scores, pos, valid)
    thr, _ = _tune_sorted(ss, default)
    kwargs = dict(topk=3, topk_thr=False, empty_class='zero',
                  classwise=False)
    kwargs.update(suite_kwargs)
    return thr, _suite(scores, pos, valid, ss, thr=default, adapt_thr=thr,
                       **kwargs)


def curves(scores: ArrayLike, targets: ArrayLike,
           class_idx: int) -> Dict[str, np.ndarray]:
    """Precision, recall and F1 of one class at each distinct threshold.

    Returns:
        dict: ``thresholds`` (descending), ``precision``, ``recall``, ``f1``
        (fractions; recall and F1 are 0 for a class without positives).
    """
    scores, pos, valid = prepare(scores, targets)
    c = slice(class_idx, class_idx + 1)
    ss = sort_scores(scores[:, c], pos[:, c], valid[:, c])
    end = ss.group_end[0]
    tp, pp = ss.tp[0][end], ss.pp[0][end]
    precision, recall = _ratio(tp, pp), _ratio(tp, ss.num_pos[0])
    return dict(thresholds=key_to_score(ss.keys[0][end]),
                precision=precision, recall=recall,
                f1=_f1(precision, recall))
