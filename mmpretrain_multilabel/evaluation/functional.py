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
import functools
from typing import Dict, Optional, Sequence, Tuple, Union

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
    finite = np.isfinite(scores.numpy())  # numpy: no thread start-up
    if not finite.all():
        bad = np.argwhere(~finite)[0].tolist()
        raise ValueError(f'scores contain NaN or inf (first at sample '
                         f'{bad[0]}, class {bad[1]})')
    pos, valid = _target_masks(targets)
    return scores, pos, valid


def _target_masks(targets: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Positive (``> 0.5``) and valid (``>= 0``) masks of any target dtype.

    Args:
        targets (torch.Tensor): ``(N, K)`` targets on the CPU.

    Returns:
        tuple: ``pos`` and ``valid``, bool ``(N, K)``.
    """
    if targets.dtype.is_floating_point:
        t = targets.float().numpy()
        return torch.from_numpy(t > 0.5), torch.from_numpy(t >= 0)
    t = targets.numpy()  # integers (> 0.5 is > 0) and bool
    return torch.from_numpy(t > 0), torch.from_numpy(t >= 0)


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


class SortedScores:
    """Per-class scores sorted in descending order, with running counts.

    Arrays are numpy ``(K, N)``: row ``c`` is class ``c``. The metrics need
    the running counts at a few ranks only (each positive's run end, one
    threshold per class), read by binary search in the flat positions of the
    positives and of the ignored entries (:meth:`tp_at`, :meth:`pp_at`);
    the full cumulative arrays (:attr:`tp`, :attr:`pp`, for threshold tuning
    and curves) are built on first use.

    Args:
        keys (np.ndarray): Sorted scores as order-preserving integers
            (:func:`key_to_score` turns them back).
        pos (np.ndarray): Positive target at each rank.
        valid (np.ndarray): Not ignored (target >= 0) at each rank.
        group_end (np.ndarray): True at the last rank of each run of tied
            scores: the candidate thresholds (``score >= score at that
            rank``).

    Attributes:
        num_pos (np.ndarray): ``(K,)`` positives per class.
    """

    def __init__(self, keys: np.ndarray, pos: np.ndarray, valid: np.ndarray,
                 group_end: np.ndarray) -> None:
        self.keys = keys
        self.pos = pos
        self.valid = valid
        self.group_end = group_end
        self.num_pos = np.count_nonzero(pos, axis=1).astype(np.int64)

    @functools.cached_property
    def tp(self) -> np.ndarray:
        """Positives at or above each rank (cumulative), ``(K, N)``."""
        return np.cumsum(self.pos, axis=1, dtype=self._count_dtype)

    @functools.cached_property
    def pp(self) -> np.ndarray:
        """Valid (not ignored) samples at or above each rank: the predicted
        positives if the threshold is that rank's score, ``(K, N)``."""
        return np.cumsum(self.valid, axis=1, dtype=self._count_dtype)

    @property
    def _count_dtype(self) -> type:
        """int32 running counts (a faster cumsum) when they fit."""
        return np.int32 if self.keys.shape[1] < 2 ** 30 else np.int64

    @functools.cached_property
    def pos_flat(self) -> np.ndarray:
        """Flat positions (row-major) of the positives, ascending."""
        return np.flatnonzero(self.pos)

    @functools.cached_property
    def invalid_flat(self) -> np.ndarray:
        """Flat positions (row-major) of the ignored entries, ascending."""
        return np.flatnonzero(~self.valid)

    def tp_at(self, flat: np.ndarray) -> np.ndarray:
        """:attr:`tp` at flat positions, without the full array."""
        return _count_up_to(self.pos_flat, flat, self.keys.shape[1])

    def pp_at(self, flat: np.ndarray) -> np.ndarray:
        """:attr:`pp` at flat positions: the rank minus the ignored entries
        before it, searched among the ignored entries when they are few,
        read from the full :attr:`pp` when they are many (as with
        OpenImages' unverified labels)."""
        n = self.keys.shape[1]
        if self.num_invalid * 8 > self.valid.size:
            return self.pp.ravel()[flat]
        return flat % n + 1 - _count_up_to(self.invalid_flat, flat, n)

    @functools.cached_property
    def num_invalid(self) -> int:
        """Ignored entries in all classes."""
        return self.valid.size - int(np.count_nonzero(self.valid))


def _count_up_to(marked: np.ndarray, flat: np.ndarray, n: int) -> np.ndarray:
    """Marked entries of a row at or before a position.

    Args:
        marked (np.ndarray): Ascending flat positions of the marked entries
            of a ``(K, n)`` array.
        flat (np.ndarray): Flat positions to count at (row ``flat // n``).
        n (int): Row length.

    Returns:
        np.ndarray: Per position, the marked entries from its row's start up
        to and including it.
    """
    start = flat - flat % n
    return (np.searchsorted(marked, flat, side='right')
            - np.searchsorted(marked, start, side='left'))


def sort_scores(scores: torch.Tensor, pos: torch.Tensor,
                valid: torch.Tensor) -> SortedScores:
    """Sort each class's scores once; see :class:`SortedScores`.

    Score, validity and target of an entry are packed into one integer key
    (score bits shifted left by 2), so a plain value sort replaces an
    argsort and gathers (several times faster); the order inside a run of
    ties does not matter because only run ends are used.
    """
    keys = _float_keys(scores.numpy())
    one = keys.dtype.type(1)
    two = keys.dtype.type(2)
    # packed in the (N, K) layout, then one transposing copy
    keys <<= two
    keys |= valid.numpy().view(np.uint8) << np.uint8(1)
    keys |= pos.numpy().view(np.uint8)
    np.invert(keys, out=keys)  # descending: ~ reverses the order
    keys = np.ascontiguousarray(keys.T)
    keys.sort(axis=1)
    np.invert(keys, out=keys)
    p = (keys & one).astype(bool)
    v = (keys & two).astype(bool)
    keys >>= two
    group_end = np.ones(keys.shape, dtype=bool)
    np.not_equal(keys[:, :-1], keys[:, 1:], out=group_end[:, :-1])
    return SortedScores(keys, p, v, group_end)


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
    k, n = ss.keys.shape
    if n == 0:
        return np.zeros(k)
    # each positive takes the precision at the end of its run of ties: its
    # own rank unless a tied entry follows (only then a search for the end)
    at = ss.pos_flat.copy()
    inside = ~ss.group_end.ravel()[at]
    if inside.any():
        ends = np.flatnonzero(ss.group_end)  # every row ends with a run end
        at[inside] = ends[np.searchsorted(ends, at[inside])]
    precision = ss.tp_at(at) / ss.pp_at(at)  # pp >= 1 at a positive
    total = np.bincount(at // n, weights=precision, minlength=k)
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
    if not n:
        return np.zeros(k, int), np.zeros(k, int), ss.num_pos
    flat = rows * n + at
    nc = np.where(above > 0, ss.tp_at(flat), 0)
    np_ = np.where(above > 0, ss.pp_at(flat), 0)
    return nc, np_, ss.num_pos


def topk_indices(scores: torch.Tensor, k: int) -> np.ndarray:
    """The columns of each row's ``k`` highest scores: ``torch.topk``'s set.

    Which columns count as the top ``k`` (their order is of no use here)
    depends on the tie-breaking only in rows where the ``k``-th and the
    next score tie; there it is ``torch.topk``'s (MMPretrain's rule). The
    other rows, nearly all of them with continuous scores, take ``k`` argmax
    passes in numpy, several times faster than ``torch.topk`` on ``(N, 80)``.

    Args:
        scores (torch.Tensor): ``(N, K)`` float32 scores on the CPU.
        k (int): How many per row (at most ``K`` are taken).

    Returns:
        np.ndarray: ``(N, min(k, K))`` int64 column indices.
    """
    n, num_classes = scores.shape
    k = min(k, num_classes)
    values = scores.numpy()
    if k == num_classes or n == 0:
        return np.broadcast_to(np.arange(k, dtype=np.int64), (n, k)).copy()
    work = values.copy()
    by_column = work.T  # numpy reduces across rows faster along axis 0
    rows = np.arange(n)
    idx = np.empty((n, k), dtype=np.int64)
    for j in range(k):
        idx[:, j] = by_column.argmax(axis=0)
        kth = work[rows, idx[:, j]]
        work[rows, idx[:, j]] = -np.inf
    tie = by_column.max(axis=0) == kth  # also a -inf score at the k-th place
    if tie.any():
        idx[tie] = torch.from_numpy(values[tie]).topk(k, dim=1).indices.numpy()
    return idx


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
    idx = topk_indices(scores, k)
    pos_np = pos.numpy()
    predicted = np.take_along_axis(valid.numpy(), idx, 1)
    if thr is not None:
        t = np.broadcast_to(np.asarray(thr, np.float64), (num_classes,))
        top = np.take_along_axis(scores.numpy(), idx, 1).astype(np.float64)
        predicted &= top >= t[idx]
    hit = predicted & np.take_along_axis(pos_np, idx, 1)
    # one bincount of (class, predicted, hit) codes instead of masked copies
    code = idx * 4 + predicted * 2 + hit
    table = np.bincount(code.ravel(), minlength=4 * num_classes)
    table = table.reshape(num_classes, 4)
    return (table[:, 3], table[:, 2] + table[:, 3],
            np.count_nonzero(pos_np, axis=0))


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
