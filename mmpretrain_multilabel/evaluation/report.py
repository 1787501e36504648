"""A self-contained HTML report of a multilabel evaluation.

One page, ``index.html``, with every figure inlined as a base64 PNG / JPEG
(no external file, URL or script): the metric table, the per-class AP bars,
the precision-recall and F1-versus-threshold curves (drawn by
:mod:`~mmpretrain_multilabel.evaluation.plots`), the ground-truth label
co-occurrence, and the evaluated images with their predicted and true labels,
worst first. :class:`~.metrics.MultiLabelSuite` writes it when given
``report_dir`` (``tools/test.py --report DIR``).
"""
import base64
import html
import io
import os
import os.path as osp
import re
import warnings
from typing import BinaryIO, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..datasets.statistics import cooccurrence
from .functional import ArrayLike, Thr, multilabel_metrics, prepare
from .plots import (
    plot_ap_bars,
    plot_cooccurrence,
    plot_f1_curves,
    plot_pr_curves,
    select_classes,
)

#: The page written into the report folder.
REPORT_FILE = 'index.html'

#: Section anchors (``id``) of the page and their headings, in page order.
SECTIONS = {
    'metrics': 'Metrics',
    'ap-per-class': 'Average precision per class',
    'curves': 'Precision-recall and F1-versus-threshold curves',
    'cooccurrence': 'Label co-occurrence (ground truth)',
    'images': 'Images, worst first',
}

#: How the image grid is ordered, as the page states it.
RANKING_RULE = (
    'per-image F1 of the predicted labels (score &ge; threshold) against the true '
    'labels, lowest first (ignored labels are skipped; an image with neither true '
    'nor predicted labels has F1 = 1); ties: the larger sum of per-label errors '
    '|score &minus; target| first')

_VARIANT = re.compile(r'^(?P<name>.+?)(?P<variant>-top\d+|-adapt)?$')

_CSS = """
body{font-family:sans-serif;margin:24px;color:#222;max-width:1400px}
h1{margin-bottom:4px}h2{margin-top:32px;border-bottom:1px solid #ccc}
nav a{margin-right:14px}.note{color:#555;font-size:14px}
table.metrics{border-collapse:collapse}
table.metrics td,table.metrics th{border:1px solid #bbb;padding:4px 10px;text-align:right}
table.metrics th:first-child,table.metrics td:first-child{text-align:left}
img.plot{max-width:100%;height:auto}.row{display:flex;gap:16px}
.row img.plot{max-width:calc(50% - 8px)}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:12px}
.card{border:1px solid #ccc;border-radius:6px;padding:8px;font-size:13px}
.card img{width:160px;height:160px;object-fit:contain;image-rendering:pixelated;
background:#eee;display:block;margin:0 auto 6px}
.missing{width:160px;height:160px;background:#eee;color:#888;display:flex;
align-items:center;justify-content:center;margin:0 auto 6px}
.path{color:#666;word-break:break-all}
.chip{display:inline-block;border-radius:10px;padding:1px 7px;margin:2px 2px 0 0}
.tp{background:#c8e6c9}.fp{background:#ffcdd2}.fn{background:#ffe0b2}.ign{background:#e0e0e0}
"""


def plot_data_uri(plot: Callable[[BinaryIO], object]) -> str:
    """Run a plot function into memory and return it as a PNG data URI.

    Args:
        plot: Called with a binary stream; draws a PNG into it, e.g.
            ``lambda f: plot_ap_bars(ap, classes, f)``.

    Returns:
        str: ``data:image/png;base64,...``.
    """
    buf = io.BytesIO()
    plot(buf)
    return 'data:image/png;base64,' + base64.b64encode(buf.getvalue()).decode('ascii')


def load_thumbnail(path: str, size: int = 160) -> Tuple[Optional[str], Optional[str]]:
    """A JPEG thumbnail of an image file as a data URI, or why there is none.

    Args:
        path: Image file.
        size: Longest side of the thumbnail in pixels (never enlarged).

    Returns:
        ``(uri, None)`` with ``data:image/jpeg;base64,...``, or
        ``(None, error)`` when the file is missing, unreadable, empty or does
        not decode (``error``: the exception's type and message).
    """
    from PIL import Image
    try:
        with Image.open(path) as img:
            img = img.convert('RGB')
            img.thumbnail((size, size))
            buf = io.BytesIO()
            img.save(buf, format='JPEG', quality=85)
    except Exception as e:  # OSError, UnidentifiedImageError, decompression errors, ...
        return None, f'{type(e).__name__}: {e}'
    return 'data:image/jpeg;base64,' + base64.b64encode(buf.getvalue()).decode('ascii'), None


def thumbnail_data_uri(path: Optional[str], size: int = 160) -> Optional[str]:
    """A JPEG thumbnail of an image file as a data URI.

    Args:
        path: Image file; None for a sample without one.
        size: Longest side of the thumbnail in pixels (never enlarged).

    Returns:
        str | None: ``data:image/jpeg;base64,...``, or None when the file is
        missing or unreadable (see :func:`load_thumbnail` for the reason).
    """
    return load_thumbnail(path, size)[0] if path else None


def per_image_errors(scores: ArrayLike, targets: ArrayLike,
                     thr: Thr = 0.5) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-image F1 of the decisions and the summed per-label error.

    Args:
        scores: ``(N, K)`` scores.
        targets: ``(N, K)`` targets (1 / 0 / -1 ignored).
        thr: One threshold or one per class; ``score >= thr`` is predicted.

    Returns:
        tuple: ``(N, K)`` predicted mask, ``(N,)`` F1 (1 for an image with
        neither true nor predicted labels) and ``(N,)`` sum over the
        not-ignored labels of ``|score - target|``.
    """
    scores, pos, valid = prepare(scores, targets)
    s = scores.numpy()
    pos, valid = pos.numpy(), valid.numpy()
    t = np.broadcast_to(np.asarray(thr, np.float64), (s.shape[1],))
    pred = s.astype(np.float64) >= t
    tp = (pred & pos & valid).sum(1)
    wrong = (pred != pos) & valid
    denom = 2 * tp + wrong.sum(1)
    f1 = np.divide(2 * tp, denom, out=np.ones(len(s)), where=denom > 0)
    errors = (np.abs(s - pos) * valid).sum(1)
    return pred, f1, errors


def worst_first(f1: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """Image indices by :data:`RANKING_RULE`: F1 ascending, then the larger
    error first, then dataset order."""
    return np.lexsort((np.arange(len(f1)), -errors, f1))


def metric_table(metrics: Dict[str, object],
                 thr_name: str) -> Tuple[List[str], List[Tuple[str, List[str]]]]:
    """The scalar metrics as a table: one row per variant (at the threshold,
    top-k, tuned thresholds), one column per metric.

    Args:
        metrics: :class:`~.metrics.MultiLabelSuite` output (percent), keys
            such as ``mAP``, ``CF1``, ``CF1-top3``, ``CF1-adapt``; lists
            (``AP_classwise``) are left out.
        thr_name: How the decision threshold is described in the first row.

    Returns:
        tuple: Column names and ``(row label, cells)`` rows; a metric a
        variant does not have is ``'-'``.
    """
    columns: List[str] = []
    values: Dict[str, Dict[str, float]] = {}
    for key, value in metrics.items():
        if not isinstance(value, (int, float)):
            continue
        m = _VARIANT.match(key)
        name, variant = m.group('name'), m.group('variant') or ''
        if name not in columns:
            columns.append(name)
        values.setdefault(variant, {})[name] = float(value)

    def label(variant: str) -> str:
        if variant == '-adapt':
            return 'tuned thresholds'
        if variant.startswith('-top'):
            return f'top-{variant[4:]}'
        return f'threshold {thr_name}'

    rows = [(label(v), [f'{row[c]:.2f}' if c in row else '-' for c in columns])
            for v, row in values.items()]
    return columns, rows


def _chips(items: Sequence[Tuple[str, float, str]]) -> str:
    if not items:
        return '<i>none</i>'
    return ' '.join(f'<span class="chip {kind}">{html.escape(name)} {score:.2f}</span>'
                    for name, score, kind in items)


def image_card(rank: int, path: Optional[str], scores: np.ndarray, target: np.ndarray,
               pred: np.ndarray, f1: float, classes: Sequence[str],
               thumb_size: int = 160, uri: Optional[str] = None) -> str:
    """HTML of one image in the grid: thumbnail, predicted and true labels.

    Args:
        rank: Position in the grid (1 is the worst).
        path: Image file, or None.
        scores: ``(K,)`` scores of the image.
        target: ``(K,)`` targets (1 / 0 / -1).
        pred: ``(K,)`` predicted mask.
        f1: The image's F1.
        classes: Class names.
        thumb_size: Longest side of the thumbnail.
        uri: The thumbnail's data URI if already made; default: made from
            ``path`` (a placeholder if it cannot be).
    """
    if uri is None:
        uri = thumbnail_data_uri(path, thumb_size)
    img = (f'<img src="{uri}" alt="image {rank}">' if uri else
           '<div class="missing">no image</div>')
    order = np.argsort(-scores, kind='stable')
    predicted = [(classes[c], scores[c],
                  'tp' if target[c] > 0.5 else 'ign' if target[c] < 0 else 'fp')
                 for c in order if pred[c]]
    true = [(classes[c], scores[c], 'tp' if pred[c] else 'fn')
            for c in order if target[c] > 0.5]
    ignored = [(classes[c], scores[c], 'ign') for c in order if target[c] < 0]
    name = html.escape(osp.basename(path)) if path else f'sample {rank}'
    lines = [f'<div class="card">{img}<b>#{rank}</b> <span class="path">{name}</span>'
             f' &middot; F1 {f1:.2f}',
             f'<div>predicted: {_chips(predicted)}</div>',
             f'<div>true: {_chips(true)}</div>']
    if ignored:
        lines.append(f'<div>ignored: {_chips(ignored)}</div>')
    return '\n'.join(lines) + '</div>'


def render_report(title: str, summary: str, metric_columns: Sequence[str],
                  metric_rows: Sequence[Tuple[str, Sequence[str]]],
                  figures: Dict[str, str], cards: Sequence[str],
                  grid_note: str) -> str:
    """Assemble the page from its parts (no computation).

    Args:
        title: Page heading.
        summary: One line under the heading (HTML).
        metric_columns: Metric names of the table.
        metric_rows: ``(row label, cells)`` of the table.
        figures: Data URIs of the plots: ``ap``, ``pr``, ``f1``,
            ``cooccurrence``.
        cards: HTML of the image cards, in grid order.
        grid_note: What the grid shows and how it is ordered (HTML).
    """
    head = ''.join(f'<th>{html.escape(c)}</th>' for c in metric_columns)
    body = ''.join(f'<tr><td>{html.escape(label)}</td>'
                   + ''.join(f'<td>{v}</td>' for v in cells) + '</tr>'
                   for label, cells in metric_rows)
    nav = ''.join(f'<a href="#{k}">{v}</a>' for k, v in SECTIONS.items())
    plot = '<img class="plot" src="{}" alt="{}">'.format
    parts = {
        'metrics': f'<table class="metrics"><tr><th>decision</th>{head}</tr>{body}</table>'
                   '<p class="note">All values in percent.</p>',
        'ap-per-class': plot(figures['ap'], 'AP per class'),
        'curves': '<div class="row">' + plot(figures['pr'], 'precision-recall curves')
                  + plot(figures['f1'], 'F1 versus threshold') + '</div>',
        'cooccurrence': plot(figures['cooccurrence'], 'label co-occurrence'),
        'images': f'<p class="note">{grid_note}</p><div class="grid">'
                  + '\n'.join(cards) + '</div>',
    }
    sections = '\n'.join(f'<h2 id="{k}">{SECTIONS[k]}</h2>\n{parts[k]}' for k in SECTIONS)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n'
            f'<body><h1>{html.escape(title)}</h1><p class="note">{summary}</p>'
            f'<nav>{nav}</nav>\n{sections}\n</body></html>\n')


def write_report(out_dir: str,
                 scores: ArrayLike,
                 targets: ArrayLike,
                 classes: Sequence[str],
                 metrics: Dict[str, object],
                 img_paths: Optional[Sequence[Optional[str]]] = None,
                 thr: Thr = 0.5,
                 thresholds: Optional[Sequence[float]] = None,
                 plot_classes: Optional[Sequence[Union[str, int]]] = None,
                 title: str = 'Evaluation report',
                 max_images: int = 48,
                 thumb_size: int = 160,
                 strict: bool = False) -> str:
    """Write ``out_dir/index.html`` (:data:`REPORT_FILE`).

    Args:
        out_dir: Output folder (created).
        scores: ``(N, K)`` scores.
        targets: ``(N, K)`` targets (1 / 0 / -1 ignored).
        classes: Class names.
        metrics: The suite's metrics (percent); its ``AP_classwise`` is used
            for the AP bars when present.
        img_paths: Image file of each sample (None entries allowed); the
            grid shows placeholders without them.
        thr: Decision threshold (one, or one per class) of the predicted
            labels.
        thresholds: Tuned per-class thresholds to mark on the F1 curves.
        plot_classes: Classes (names or indices) for the curves; default:
            the 8 classes with the most positives.
        title: Page heading (e.g. config and checkpoint).
        max_images: Number of images in the grid (the worst ones).
        thumb_size: Longest side of the thumbnails in pixels.
        strict: Raise at the first image of the grid that cannot be read,
            instead of a warning naming it, a placeholder card and a list of
            the unreadable files under the grid.

    Returns:
        str: The written file.

    Raises:
        ValueError: With ``strict``, an image of the grid cannot be read.
    """
    scores_t, pos, valid = prepare(scores, targets)
    n, k = scores_t.shape
    if len(classes) != k:
        raise ValueError(f'{len(classes)} class names for {k} score columns')
    if img_paths is not None and len(img_paths) != n:
        raise ValueError(f'{len(img_paths)} image paths for {n} samples')
    target = np.where(valid.numpy(), pos.numpy().astype(np.int8), -1)
    ap = metrics.get('AP_classwise')
    if ap is None:
        ap = multilabel_metrics(scores_t, target, topk=None, classwise=True)['AP_classwise']
    idx = select_classes(target, classes, plot_classes)
    figures = dict(
        ap=plot_data_uri(lambda f: plot_ap_bars(ap, classes, f)),
        pr=plot_data_uri(lambda f: plot_pr_curves(scores_t, target, classes, idx, f)),
        f1=plot_data_uri(
            lambda f: plot_f1_curves(scores_t, target, classes, idx, f, thresholds)),
        cooccurrence=plot_data_uri(lambda f: plot_cooccurrence(
            cooccurrence(target), classes, f, f'{n} evaluated images')))

    pred, f1, errors = per_image_errors(scores_t, target, thr)
    shown = worst_first(f1, errors)[:max(0, max_images)]
    s = scores_t.numpy()
    cards, unreadable = [], []
    for rank, i in enumerate(shown, 1):
        path = None if img_paths is None else img_paths[i]
        uri, error = load_thumbnail(path, thumb_size) if path else (None, None)
        if error is not None:
            if strict:
                raise ValueError(f'report: cannot read image {path}: {error}')
            warnings.warn(f'report: no thumbnail for {path} ({error}); its card shows a '
                          'placeholder', stacklevel=2)
            unreadable.append((path, error))
        cards.append(image_card(rank, path, s[i], target[i], pred[i], f1[i], classes,
                                thumb_size, uri=uri))
    thr_name = (f'{float(thr):g}' if np.ndim(thr) == 0 else 'per class')
    columns, rows = metric_table(metrics, thr_name)
    summary = (f'{n} images, {k} classes; predicted labels: score &ge; threshold '
               f'({thr_name}).')
    grid_note = (f'The {len(shown)} worst of {n} images, by {RANKING_RULE}. Chips: '
                 '<span class="chip tp">correct</span> <span class="chip fp">false '
                 'positive</span> <span class="chip fn">missed</span> '
                 '<span class="chip ign">ignored label</span>, with the score.')
    if unreadable:
        grid_note += (f' {len(unreadable)} image file(s) could not be read and show a '
                      'placeholder: ' + '; '.join(f'{html.escape(str(p))} '
                                                  f'({html.escape(e)})' for p, e in unreadable))
    page = render_report(title, summary, columns, rows, figures, cards, grid_note)
    os.makedirs(out_dir, exist_ok=True)
    out_file = osp.join(out_dir, REPORT_FILE)
    with open(out_file, 'w', encoding='utf-8') as f:
        f.write(page)
    return out_file
