"""PNG plots of a multilabel evaluation: per-class AP, precision-recall and
F1-versus-threshold curves, and the label co-occurrence matrix.

Figures are drawn with matplotlib's object API on an Agg canvas, so nothing
changes the process-wide backend and no display is needed.
"""
import os
import os.path as osp
from typing import BinaryIO, Dict, List, Optional, Sequence, Union

import numpy as np

from .functional import ArrayLike, curves, prepare

#: Where a plot goes: a file path (its folder is created) or a binary stream.
PlotTarget = Union[str, BinaryIO]

#: File names written by :func:`plot_evaluation`.
PLOT_FILES = dict(ap='ap_per_class.png', pr='pr_curves.png',
                  f1='f1_vs_threshold.png')


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, out_file: PlotTarget, tight: bool = True) -> PlotTarget:
    if isinstance(out_file, str):
        os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    if tight:
        fig.tight_layout()
    fig.savefig(out_file, format='png')
    return out_file


def select_classes(targets: ArrayLike,
                   classes: Sequence[str],
                   requested: Optional[Sequence[Union[str, int]]] = None,
                   max_classes: int = 8) -> List[int]:
    """Indices of the classes to draw curves for.

    Args:
        targets: ``(N, K)`` targets (1 / 0 / -1).
        classes: Class names.
        requested: Class names or indices; by default the ``max_classes``
            classes with the most positives.
        max_classes: Number of classes chosen by default.

    Raises:
        ValueError: A requested class is unknown.
    """
    if requested is not None:
        out = []
        for c in requested:
            if isinstance(c, str):
                if c not in classes:
                    raise ValueError(f'plot class {c!r} is not one of the '
                                     f'dataset classes {list(classes)[:10]}...')
                out.append(list(classes).index(c))
            elif 0 <= int(c) < len(classes):
                out.append(int(c))
            else:
                raise ValueError(f'plot class index {c} is out of range '
                                 f'(0..{len(classes) - 1})')
        return out
    t = np.asarray(targets)
    num_pos = (t > 0.5).sum(0)
    order = np.argsort(-num_pos, kind='stable')
    return sorted(order[:max_classes].tolist())


def plot_ap_bars(ap: Sequence[float], classes: Sequence[str],
                 out_file: PlotTarget) -> PlotTarget:
    """Bar chart of per-class AP (percent), sorted from best to worst."""
    ap = np.asarray(ap, dtype=float)
    order = np.argsort(-ap, kind='stable')
    fig = _figure(max(6.0, 0.18 * len(ap) + 2), 4.5)
    ax = fig.add_subplot()
    ax.bar(np.arange(len(ap)), ap[order], color='tab:blue')
    ax.axhline(ap.mean(), color='tab:red', ls='--',
               label=f'mAP {ap.mean():.2f}')
    ax.set_xticks(np.arange(len(ap)))
    ax.set_xticklabels([classes[i] for i in order], rotation=90,
                       fontsize=7 if len(ap) > 30 else 9)
    ax.set_ylabel('AP (%)')
    ax.set_ylim(0, 100)
    ax.legend(loc='lower left')
    ax.set_title('Average precision per class')
    return _save(fig, out_file)


def plot_pr_curves(scores: ArrayLike, targets: ArrayLike,
                   classes: Sequence[str], class_indices: Sequence[int],
                   out_file: PlotTarget) -> PlotTarget:
    """Precision-recall curves (step-wise, as AP integrates them)."""
    fig = _figure(6.5, 5)
    ax = fig.add_subplot()
    for c in class_indices:
        cur = curves(scores, targets, c)
        recall = np.concatenate([[0.0], cur['recall']])
        precision = np.concatenate([cur['precision'][:1], cur['precision']])
        ax.step(recall, precision, where='post', label=classes[c])
    ax.set_xlabel('recall')
    ax.set_ylabel('precision')
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    ax.set_title('Precision-recall curves')
    return _save(fig, out_file)


def plot_f1_curves(scores: ArrayLike,
                   targets: ArrayLike,
                   classes: Sequence[str],
                   class_indices: Sequence[int],
                   out_file: PlotTarget,
                   thresholds: Optional[Sequence[float]] = None) -> PlotTarget:
    """F1 versus threshold per class; tuned thresholds drawn as markers."""
    fig = _figure(6.5, 5)
    ax = fig.add_subplot()
    for c in class_indices:
        cur = curves(scores, targets, c)
        line, = ax.plot(cur['thresholds'], cur['f1'], drawstyle='steps-pre',
                        label=classes[c])
        if thresholds is not None:
            t = float(thresholds[c])
            # the F1 obtained with score >= t
            below = cur['thresholds'] >= t
            f1 = cur['f1'][below][-1] if below.any() else 0.0
            ax.plot([t], [f1], 'o', color=line.get_color())
    ax.set_xlabel('threshold')
    ax.set_ylabel('F1')
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    ax.set_title('F1 versus threshold' +
                 (' (dots: tuned thresholds)' if thresholds is not None
                  else ''))
    return _save(fig, out_file)


def plot_cooccurrence(cooc: np.ndarray, classes: Sequence[str],
                      out_file: PlotTarget, title: str) -> PlotTarget:
    """Heatmap of the row-normalised co-occurrence, ``P(j | i)``.

    Args:
        cooc: ``(K, K)`` counts of images positive for both classes
            (:func:`~mmpretrain_multilabel.datasets.statistics.cooccurrence`).
        classes: Class names.
        out_file: PNG file or binary stream.
        title: Plot title (the data it was counted on).
    """
    k = len(classes)
    diag = np.diag(cooc).astype(np.float64)
    cond = cooc / np.maximum(diag, 1)[:, None]  # P(col | row)
    size = min(4 + 0.16 * k, 24)
    fig = _figure(size + 1.5, size)
    ax = fig.add_subplot()
    im = ax.imshow(cond, cmap='viridis', vmin=0, vmax=1,
                   interpolation='nearest')
    margin = 0.6  # inches for the axis labels
    if k <= 100:
        fs = max(4, min(9, int(600 / max(k, 1))))
        ax.set_xticks(range(k))
        ax.set_yticks(range(k))
        ax.set_xticklabels(classes, rotation=90, fontsize=fs)
        ax.set_yticklabels(classes, fontsize=fs)
        # room for the longest name (tight_layout would double the time)
        margin += 0.6 * fs / 72 * max(len(str(c)) for c in classes)
    ax.set_xlabel('class j')
    ax.set_ylabel('class i')
    ax.set_title(f'{title}: P(j | i) = #(i and j) / #i')
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.subplots_adjust(left=min(0.45, margin / (size + 1.5)),
                        bottom=min(0.45, margin / size), right=0.97,
                        top=1 - min(0.1, 0.5 / size))
    return _save(fig, out_file, tight=False)


def plot_evaluation(scores: ArrayLike,
                    targets: ArrayLike,
                    classes: Sequence[str],
                    out_dir: str,
                    ap: Optional[Sequence[float]] = None,
                    thresholds: Optional[Sequence[float]] = None,
                    plot_classes: Optional[Sequence[Union[str, int]]] = None
                    ) -> Dict[str, str]:
    """Write the three plots of :data:`PLOT_FILES` into ``out_dir``.

    Args:
        scores: ``(N, K)`` scores.
        targets: ``(N, K)`` targets (1 / 0 / -1).
        classes: Class names.
        out_dir: Output directory (created).
        ap: Per-class AP in percent; computed if not given.
        thresholds: Tuned per-class thresholds to mark on the F1 curves.
        plot_classes: Classes (names or indices) for the curves; default:
            the 8 classes with the most positives.

    Returns:
        dict: Plot kind (``ap``, ``pr``, ``f1``) -> written file.
    """
    _, pos, valid = prepare(scores, targets)
    if len(classes) != pos.shape[1]:
        raise ValueError(f'{len(classes)} class names for {pos.shape[1]} '
                         'score columns')
    if ap is None:
        from .functional import multilabel_metrics
        ap = multilabel_metrics(scores, targets, topk=None,
                                classwise=True)['AP_classwise']
    idx = select_classes(targets, classes, plot_classes)
    files = {k: osp.join(out_dir, v) for k, v in PLOT_FILES.items()}
    plot_ap_bars(ap, classes, files['ap'])
    plot_pr_curves(scores, targets, classes, idx, files['pr'])
    plot_f1_curves(scores, targets, classes, idx, files['f1'], thresholds)
    return files
