"""One metric for multilabel evaluation: mAP, CP/CR/CF1, OP/OR/OF1, mean F1,
at a threshold and at top-k, in one vectorised pass.

Definitions: those of ML-GCN (Chen et al. 2019,
https://arxiv.org/abs/1904.03582) and Prokofiev & Sovrasov 2022
(https://arxiv.org/abs/2209.06585), written out in
:mod:`mmpretrain_multilabel.evaluation.functional`.
"""
import itertools
import logging
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.dist import get_world_size
from mmengine.evaluator import BaseMetric
from mmengine.evaluator import metric as base_metric
from mmengine.logging import MMLogger, print_log
from mmpretrain.registry import METRICS
from mmpretrain.structures import label_to_onehot

from mmpretrain_multilabel.utils.thresholds import Thresholds, load_thresholds

from ..functional import EMPTY_CLASS_RULES, multilabel_metrics

__all__ = ['MultiLabelSuite', 'gt_score_of', 'batch_targets', 'merge_chunks',
           'interleave_ranks']


def gt_score_of(data_sample: dict, num_classes: int,
                difficult_as_positive: Optional[bool] = None) -> torch.Tensor:
    """The ``(K,)`` target of one sample: 1 / 0 / -1 (ignored), int8.

    The per-sample definition, written plainly: the tests check
    :func:`batch_targets` (what :class:`MultiLabelSuite` runs) against it on
    every sample format. Reads ``gt_score`` (one-hot; -1 entries stay
    ignored) or else ``gt_label`` (indices). Labels that occur only as VOC
    "difficult" objects (``gt_label_difficult``, packed by MMPretrain's VOC
    test pipeline) are ignored, or counted positive / negative when
    ``difficult_as_positive`` is True / False, as MMPretrain's
    ``VOCMultiLabelMetric``.

    Args:
        data_sample (dict): One sample, as MMEngine's ``Evaluator`` passes it.
        num_classes (int): ``K``.
        difficult_as_positive (bool, optional): Target of difficult-only
            labels: None -> -1 (ignored), True -> 1, False -> 0.

    Returns:
        torch.Tensor: ``(K,)`` int8 target on the CPU.
    """
    if 'gt_score' in data_sample:
        gt = torch.as_tensor(data_sample['gt_score']).detach().cpu().float()
        gt = torch.where(gt < 0, torch.full_like(gt, -1), (gt > 0.5).float())
    else:
        gt = label_to_onehot(data_sample['gt_label'], num_classes).float()
    difficult = data_sample.get('gt_label_difficult', None)
    if difficult is not None and len(difficult):
        labels = set(torch.as_tensor(data_sample['gt_label']).tolist()) \
            if 'gt_label' in data_sample else set()
        only_difficult = sorted(set(int(i) for i in difficult) - labels)
        value = -1 if difficult_as_positive is None else \
            float(difficult_as_positive)
        gt[only_difficult] = value
    return gt.to(torch.int8)


def _index_list(label) -> list:
    """The label indices of one sample as a flat list of ints.

    Args:
        label: A tensor, array, sequence or int.

    Returns:
        list: The indices.
    """
    if isinstance(label, list):
        return label
    if isinstance(label, (torch.Tensor, np.ndarray)):
        return label.reshape(-1).tolist()
    if isinstance(label, (tuple, set, range)):
        return list(label)
    return [int(label)]


def _count(label) -> int:
    """How many indices one sample's labels hold (a scalar holds one,
    None none)."""
    if label is None:
        return 0
    try:
        return len(label)
    except TypeError:  # an int, a 0-d tensor or array
        return int(np.size(label))


def _flat_indices(labels: Sequence) -> Tuple[np.ndarray, List[int]]:
    """All samples' label indices in one int64 array, with each sample's count.

    Tensors (what ``PackInputs`` and the data preprocessor leave) are joined
    by one ``torch.cat``; anything else (lists from a dataset's meta keys,
    arrays, ints) through one flat Python list.

    Args:
        labels (Sequence): Per-sample index labels.

    Returns:
        tuple: The flat indices and the per-sample counts.
    """
    if all(isinstance(x, torch.Tensor) for x in labels):
        parts = [x if x.ndim == 1 else x.reshape(-1) for x in labels]
        flat = torch.cat(parts).cpu().long().numpy()
        return flat, [x.numel() for x in parts]
    parts = [_index_list(x) for x in labels]
    flat = np.fromiter(itertools.chain.from_iterable(parts), dtype=np.int64)
    return flat, [len(x) for x in parts]


def index_mask(labels: Sequence, num_classes: int,
               key: str = 'gt_label') -> torch.Tensor:
    """The ``(n, K)`` bool mask of per-sample label indices, in one scatter.

    Args:
        labels (Sequence): ``n`` per-sample index labels (tensors, arrays,
            sequences or ints), possibly empty.
        num_classes (int): ``K``.
        key (str): The sample key the labels come from, for the error.

    Returns:
        torch.Tensor: ``(n, K)`` bool; row ``i`` is True at ``labels[i]``.

    Raises:
        ValueError: An index is outside ``[0, K)``.
    """
    mask = np.zeros((len(labels), num_classes), dtype=bool)
    if len(labels):
        flat, counts = _flat_indices(labels)
        if flat.size:
            low, high = int(flat.min()), int(flat.max())
            if low < 0 or high >= num_classes:
                raise ValueError(f'{key} label indices must be in '
                                 f'[0, {num_classes}), got {low} to {high}')
            mask[np.repeat(np.arange(len(counts)), counts), flat] = True
    return torch.from_numpy(mask)


def score_targets(scores: Sequence, num_classes: int) -> torch.Tensor:
    """The ``(n, K)`` int8 targets of per-sample ``gt_score`` values.

    ``> 0.5`` is 1, ``< 0`` is -1 (ignored), anything else 0; the rows are
    stacked (and moved to the CPU) once for the whole batch.

    Args:
        scores (Sequence): ``n`` per-sample ``gt_score`` values (tensors of
            any dtype and device, arrays or sequences) of ``K`` entries.
        num_classes (int): ``K``.

    Returns:
        torch.Tensor: ``(n, K)`` int8 targets on the CPU.

    Raises:
        ValueError: A ``gt_score`` does not have ``K`` entries.
    """
    gt = _stack_same_shape(scores)
    if gt is None or tuple(gt.shape) != (len(scores), num_classes):
        rows = [torch.as_tensor(s).detach().cpu() for s in scores]
        bad = [tuple(r.shape) for r in rows if r.numel() != num_classes]
        if bad:
            raise ValueError(f'gt_score must have {num_classes} entries (the '
                             f'classes of pred_score), got shape {bad[0]}')
        gt = torch.stack([r.reshape(num_classes) for r in rows])
    gt = gt.detach().cpu().float().numpy()
    # 1 / 0 / -1 as a difference of two masks (a masked write is far slower)
    return torch.from_numpy((gt > 0.5).view(np.int8) - (gt < 0).view(np.int8))


def _stack_same_shape(values: Sequence) -> Optional[torch.Tensor]:
    """``torch.stack`` of tensors of one shape on one device (one call per
    batch, the common case), else None.

    Args:
        values (Sequence): Per-sample values.

    Returns:
        torch.Tensor | None: The stacked tensor, or None when the values are
        not all tensors or differ in shape or device.
    """
    try:
        return torch.stack(list(values)) if len(values) else None
    except (TypeError, RuntimeError):  # not all tensors; shapes or devices
        return None


def difficult_only_mask(samples: Sequence[dict],
                        num_classes: int) -> torch.Tensor:
    """Classes seen only as VOC difficult objects: ``(n, K)`` bool.

    A class in ``gt_label_difficult`` that is not also in ``gt_label`` (as
    MMPretrain's ``VOCMetricMixin``).

    Args:
        samples (Sequence[dict]): ``n`` samples.
        num_classes (int): ``K``.

    Returns:
        torch.Tensor: ``(n, K)`` bool.

    Raises:
        ValueError: An index is outside ``[0, K)``.
    """
    difficult = index_mask([s.get('gt_label_difficult', ()) for s in samples],
                           num_classes, 'gt_label_difficult')
    labels = index_mask([s.get('gt_label', ()) for s in samples], num_classes)
    return difficult & ~labels


def batch_targets(data_samples: Sequence[dict], num_classes: int,
                  difficult_as_positive: Optional[bool] = None
                  ) -> torch.Tensor:
    """The ``(B, K)`` int8 targets (1 / 0 / -1) of a batch of samples.

    One batched pass for every sample format, mixed freely within a batch:
    ``gt_score`` (one-hot, as MMPretrain's ``ClsDataPreprocessor`` with
    ``to_onehot=True`` sets it, or with -1 for ignored labels) is stacked
    and thresholded once (:func:`score_targets`); index labels (``gt_label``
    without ``gt_score``) are scattered at once (:func:`index_mask`); VOC
    difficult-only labels are masked at once (:func:`difficult_only_mask`).
    The values are those of :func:`gt_score_of` on each sample.

    Args:
        data_samples (Sequence[dict]): The samples of one batch.
        num_classes (int): ``K``.
        difficult_as_positive (bool, optional): See :func:`gt_score_of`.

    Returns:
        torch.Tensor: ``(B, K)`` int8 targets on the CPU.

    Raises:
        ValueError: A sample has neither ``gt_score`` nor ``gt_label``, a
            label index is outside ``[0, K)`` or a ``gt_score`` has not
            ``K`` entries.
    """
    if not data_samples:
        return torch.zeros(0, num_classes, dtype=torch.int8)
    scored = [i for i, s in enumerate(data_samples) if 'gt_score' in s]
    indexed = [i for i, s in enumerate(data_samples) if 'gt_score' not in s]
    missing = [i for i in indexed if 'gt_label' not in data_samples[i]]
    if missing:
        raise ValueError(f'sample {missing[0]} of the batch has neither '
                         'gt_score nor gt_label')
    # numpy row writes: torch's advanced indexing costs more at (B, K) size
    out = np.zeros((len(data_samples), num_classes), dtype=np.int8)
    if scored:
        _set_rows(out, scored, score_targets(
            [data_samples[i]['gt_score'] for i in scored], num_classes).numpy())
    if indexed:
        _set_rows(out, indexed, index_mask(
            [data_samples[i]['gt_label'] for i in indexed], num_classes).numpy())
    hard = [i for i, s in enumerate(data_samples)
            if 'gt_label_difficult' in s and _count(s['gt_label_difficult'])]
    if hard:
        value = -1 if difficult_as_positive is None else \
            int(bool(difficult_as_positive))
        only = difficult_only_mask([data_samples[i] for i in hard],
                                   num_classes).numpy()
        _set_rows(out, hard, np.where(only, np.int8(value), out[hard]))
    return torch.from_numpy(out)


def _set_rows(out: np.ndarray, rows: List[int], values: np.ndarray) -> None:
    """``out[rows] = values``, without an index array when ``rows`` are all
    the rows in order."""
    if len(rows) == len(out):
        out[...] = values
    else:
        out[rows] = values


def merge_chunks(results: Sequence[dict]) -> Optional[dict]:
    """One result dict from per-batch chunks or per-sample results.

    Args:
        results (Sequence[dict]): Dicts with ``pred_score`` and ``gt_score``,
            either ``(B, K)`` (one batch, as :meth:`MultiLabelSuite.process`
            keeps them) or ``(K,)`` (one sample, as MMPretrain's metrics
            keep them), and optionally ``img_path`` (a list for a batch).

    Returns:
        dict | None: ``pred_score`` ``(N, K)`` float32, ``gt_score``
        ``(N, K)`` and ``img_path`` (list, only if every result has one);
        None for no results.
    """
    if not results:
        return None
    scores = [r['pred_score'] for r in results]
    targets = [r['gt_score'] for r in results]
    per_sample = scores[0].ndim == 1
    join = torch.stack if per_sample else torch.cat
    merged = dict(pred_score=join(scores).float(), gt_score=join(targets))
    if all('img_path' in r for r in results):
        merged['img_path'] = [r['img_path'] for r in results] if per_sample \
            else [p for r in results for p in r['img_path']]
    return merged


def interleave_ranks(parts: Sequence[Optional[dict]],
                     size: int) -> Optional[dict]:
    """Samples of all ranks back in dataset order, padding dropped.

    A distributed sampler gives rank ``r`` the samples ``r, r + W, ...``;
    as MMEngine's ``collect_results``, row ``i`` of every rank is taken in
    rank order (a shorter rank is skipped once it runs out), then the first
    ``size`` rows are kept.

    Args:
        parts (Sequence[dict | None]): One :func:`merge_chunks` dict per
            rank, in rank order.
        size (int): Samples in the dataset.

    Returns:
        dict | None: The merged dict, or None if no rank had results.
    """
    present = [(r, p) for r, p in enumerate(parts) if p is not None]
    if not present:
        return None
    world = len(parts)
    if world == 1:
        (_, part), = present
        return {key: value[:size] for key, value in part.items()}
    # numpy: torch's CPU argsort is far slower on a 1-D index of this size
    keys = np.concatenate([
        np.arange(len(p['pred_score'])) * world + r for r, p in present
    ])
    order = torch.from_numpy(np.argsort(keys, kind='stable')[:size])
    merged = {
        key: torch.cat([p[key] for _, p in present])[order]
        for key in ('pred_score', 'gt_score')
    }
    if all('img_path' in p for _, p in present):
        paths = [x for _, p in present for x in p['img_path']]
        merged['img_path'] = [paths[i] for i in order.tolist()]
    return merged


@METRICS.register_module()
class MultiLabelSuite(BaseMetric):
    """mAP, CP, CR, CF1, OP, OR, OF1 and mean per-class F1 in one pass.

    Per class, ``Nc``/``Np``/``Ng`` are the correct, predicted and true
    positives; ``CP = mean Nc/Np``, ``CR = mean Nc/Ng``,
    ``CF1 = 2 CP CR / (CP + CR)`` (as ML-GCN, Q2L and
    `Prokofiev & Sovrasov 2022 <https://arxiv.org/abs/2209.06585>`_),
    ``OP = sum Nc / sum Np``, ``OR = sum Nc / sum Ng``, ``OF1`` their harmonic
    mean, and ``mean-F1`` the mean of per-class F1 (MMPretrain's macro
    ``f1-score``). A zero denominator gives 0. AP is non-interpolated, with
    tied scores as one threshold (scikit-learn's rule).

    Output keys (all percent, prefix ``multi-label/`` by default): ``mAP``,
    ``CP``, ``CR``, ``CF1``, ``OP``, ``OR``, ``OF1``, ``mean-F1``; the same
    with ``-top3`` (``topk=3``) and with ``-adapt`` (``adapt_thr``);
    ``AP_classwise`` (list) with ``classwise=True``.

    The default prefix is MMPretrain's ``multi-label``: the suite is a drop-in
    for ``AveragePrecision`` + ``MultiLabelMetric`` and its ``mAP`` keeps the
    key ``multi-label/mAP`` that ``save_best``, early stopping and the
    training summary read. Next to MMPretrain's ``AveragePrecision`` or
    ``VOCAveragePrecision`` (the stock VOC configs' evaluator) both report
    ``multi-label/mAP``, and MMEngine's ``Evaluator`` stops at the first
    evaluation ("multiple evaluation results with the same metric name").
    Either drop the stock AP metric (the suite's mAP is the same number
    wherever scores do not tie, VOC difficult labels included) or give the
    suite a prefix of its own,
    ``dict(type='MultiLabelSuite', prefix='suite')`` (keys ``suite/mAP``,
    ``suite/CF1``, ...; point ``save_best`` at the key you mean).

    Every target format is read in one batched pass per batch
    (:func:`batch_targets`): index ``gt_label``, the one-hot ``gt_score``
    that ``ClsDataPreprocessor(to_onehot=True)`` adds, ``gt_score`` with -1
    for ignored labels, and VOC ``gt_label_difficult``. Targets of -1 in
    ``gt_score`` (and VOC difficult-only labels) are ignored. Results are
    kept per batch (two ``(B, K)`` tensors); at :meth:`evaluate` each process
    sends one merged pair and the samples are put back in dataset order, the
    sampler's padding duplicates dropped.

    Args:
        thr (float | list | str): Decision threshold: one value, one per
            class, or a thresholds JSON file (class name -> threshold, see
            :func:`~mmpretrain_multilabel.utils.load_thresholds`; matched to
            the dataset classes). ``score >= thr`` is positive.
            Defaults to 0.5.
        topk (int, optional): Also report the top-k metrics. Defaults to 3.
        topk_thr (bool): Top-k predictions must also reach ``thr`` (ML-GCN's
            rule) instead of MMPretrain's plain top-k. Defaults to False.
        adapt_thr (list | str, optional): Tuned per-class thresholds (list or
            file), reported with the ``-adapt`` suffix. Defaults to None.
        empty_class (str): Classes without positives in the evaluated data:
            ``'zero'`` counts them with AP = P = R = 0 in the class means
            (MMPretrain, ASL, ML-Decoder), ``'exclude'`` leaves them out of
            the class means (mAP, CP, CR, mean-F1). Defaults to ``'zero'``.
        classwise (bool): Add ``AP_classwise``. Defaults to False.
        difficult_as_positive (bool, optional): VOC difficult-only labels:
            None ignores them, True / False counts them positive / negative.
        plot_dir (str, optional): Write per-class AP, precision-recall and
            F1-versus-threshold plots (PNG) there. Defaults to None.
        plot_classes (list, optional): Class names or indices for the
            curves; default: the 8 most frequent classes.
        report_dir (str, optional): Write the HTML report
            (:func:`~mmpretrain_multilabel.evaluation.report.write_report`:
            metrics, plots, co-occurrence and the worst images with their
            labels) to ``report_dir/index.html``. Each sample's ``img_path``
            is then kept with its scores. Defaults to None.
        report_options (dict, optional): More arguments of ``write_report``:
            ``title``, ``max_images``, ``thumb_size``. Defaults to None.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Key prefix. Defaults to ``'multi-label'``.
    """
    default_prefix: Optional[str] = 'multi-label'

    def __init__(self,
                 thr: Thresholds = 0.5,
                 topk: Optional[int] = 3,
                 topk_thr: bool = False,
                 adapt_thr: Optional[Thresholds] = None,
                 empty_class: str = 'zero',
                 classwise: bool = False,
                 difficult_as_positive: Optional[bool] = None,
                 plot_dir: Optional[str] = None,
                 plot_classes: Optional[Sequence[Union[str, int]]] = None,
                 report_dir: Optional[str] = None,
                 report_options: Optional[dict] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        name = type(self).__name__
        if empty_class not in EMPTY_CLASS_RULES:
            raise ValueError(f'{name}: empty_class must be one of '
                             f'{EMPTY_CLASS_RULES}, got {empty_class!r}')
        if topk is not None and (not isinstance(topk, int) or topk < 1):
            raise ValueError(f'{name}: topk must be a positive int or None, '
                             f'got {topk!r}')
        # fail at build time on a malformed value or unreadable file; the
        # match against the dataset classes happens once they are known
        load_thresholds(thr)
        if adapt_thr is not None:
            if isinstance(load_thresholds(adapt_thr), float):
                raise ValueError(f'{name}: adapt_thr must be per-class '
                                 f'thresholds (a list or a file), got '
                                 f'{adapt_thr!r}')
        self.thr = thr
        self.topk = topk
        self.topk_thr = topk_thr
        self.adapt_thr = adapt_thr
        self.empty_class = empty_class
        self.classwise = classwise
        self.difficult_as_positive = difficult_as_positive
        self.plot_dir = plot_dir
        self.plot_classes = plot_classes
        self.report_dir = report_dir
        self.report_options = dict(report_options or {})

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep the batch's scores and 1 / 0 / -1 targets as two ``(B, K)``
        tensors (and the ``img_path`` list for the report)."""
        if not data_samples:
            return
        scores = torch.stack([s['pred_score'] for s in data_samples])
        scores = scores.detach().float().cpu()
        result = dict(
            pred_score=scores,
            gt_score=batch_targets(data_samples, scores.shape[1],
                                   self.difficult_as_positive))
        if self.report_dir is not None:
            result['img_path'] = [s.get('img_path', None)
                                  for s in data_samples]
        self.results.append(result)

    def evaluate(self, size: int) -> dict:
        """Collect the batches of all processes, drop the sampler's padding
        and compute the metrics on the main process.

        As :meth:`BaseMetric.evaluate`, but each process sends one merged
        ``(n, K)`` pair instead of a list of per-sample results, and the
        samples are put back in dataset order by :func:`interleave_ranks`.
        The distributed helpers are those of :mod:`mmengine.evaluator.metric`.

        Args:
            size (int): Samples in the dataset.

        Returns:
            dict: The metrics, with the prefix.
        """
        if not self.results:
            print_log(f'{type(self).__name__} got no results to evaluate.',
                      logger='current', level=logging.WARNING)
        local = merge_chunks(self.results)
        world_size = get_world_size()
        if world_size == 1:
            parts = [local]
        elif self.collect_device == 'cpu':
            parts = base_metric.collect_results([local], world_size, 'cpu',
                                    tmpdir=self.collect_dir)
        else:
            parts = base_metric.collect_results([local], world_size,
                                                self.collect_device)
        metrics = [None]
        if base_metric.is_main_process():
            merged = interleave_ranks(parts, size)
            values = self.compute_metrics([] if merged is None else [merged])
            if self.prefix:
                values = {f'{self.prefix}/{k}': v for k, v in values.items()}
            metrics = [values]
        base_metric.broadcast_object_list(metrics)
        self.results.clear()
        return metrics[0]

    @property
    def classes(self) -> Optional[List[str]]:
        meta = self.dataset_meta or {}
        classes = meta.get('classes', None)
        return list(classes) if classes is not None else None

    def resolve_thresholds(self, thr: Thresholds,
                           num_classes: int) -> Union[float, List[float]]:
        """``thr`` as one float or a list of ``num_classes`` floats, a file's
        values matched to the dataset classes when they are known."""
        classes = self.classes
        if classes is not None and len(classes) != num_classes:
            classes = None
        return load_thresholds(thr, num_classes=num_classes, classes=classes)

    @staticmethod
    def stack(results: List[dict]):
        """``(N, K)`` scores and targets from per-batch or per-sample
        results (see :func:`merge_chunks`)."""
        merged = merge_chunks(results)
        if merged is None:
            raise ValueError('no results to evaluate (empty dataset?)')
        return merged['pred_score'], merged['gt_score']

    @staticmethod
    def img_paths(results: List[dict]) -> List[Optional[str]]:
        """Each sample's ``img_path`` (None where unknown)."""
        paths: List[Optional[str]] = []
        for r in results:
            if r['pred_score'].ndim == 1:
                paths.append(r.get('img_path'))
            else:
                paths += r.get('img_path', [None] * len(r['pred_score']))
        return paths

    def compute_metrics(self, results: List[dict]) -> Dict[str, object]:
        scores, targets = self.stack(results)
        k = scores.shape[1]
        thr = self.resolve_thresholds(self.thr, k)
        adapt = None if self.adapt_thr is None else \
            self.resolve_thresholds(self.adapt_thr, k)
        metrics = multilabel_metrics(
            scores, targets, thr=thr, topk=self.topk, topk_thr=self.topk_thr,
            adapt_thr=adapt, empty_class=self.empty_class,
            classwise=self.needs_classwise)
        self.maybe_plot(scores, targets, metrics, adapt)
        self.maybe_report(results, scores, targets, metrics, thr, adapt)
        if not self.classwise:
            metrics.pop('AP_classwise', None)
        return metrics

    @property
    def needs_classwise(self) -> bool:
        """Per-class AP is computed: asked for, or for the plots / report."""
        return (self.classwise or self.plot_dir is not None
                or self.report_dir is not None)

    def maybe_plot(self, scores: torch.Tensor, targets: torch.Tensor,
                   metrics: dict,
                   thresholds: Optional[Sequence[float]] = None) -> None:
        """Write the plots into ``plot_dir`` if it is set."""
        if self.plot_dir is None:
            return
        from ..plots import plot_evaluation
        classes = self.classes or [str(i) for i in range(scores.shape[1])]
        files = plot_evaluation(
            scores, targets, classes, self.plot_dir,
            ap=metrics['AP_classwise'],
            thresholds=None if thresholds is None else np.asarray(thresholds),
            plot_classes=self.plot_classes)
        MMLogger.get_current_instance().info(
            f'{type(self).__name__}: plots written to '
            + ', '.join(files.values()))

    def maybe_report(self, results: List[dict], scores: torch.Tensor,
                     targets: torch.Tensor, metrics: dict,
                     thr: Union[float, List[float]],
                     thresholds: Optional[Sequence[float]] = None) -> None:
        """Write the HTML report into ``report_dir`` if it is set (only the
        main process computes metrics, so only it writes)."""
        if self.report_dir is None:
            return
        from ..report import write_report
        classes = self.classes or [str(i) for i in range(scores.shape[1])]
        out_file = write_report(
            self.report_dir, scores, targets, classes, metrics,
            img_paths=self.img_paths(results), thr=thr,
            thresholds=thresholds, plot_classes=self.plot_classes,
            **self.report_options)
        MMLogger.get_current_instance().info(
            f'{type(self).__name__}: report written to {out_file}')
