"""Label statistics of a multilabel dataset (``tools/dataset_stats.py``).

All functions take the ``(N, K)`` label matrix of
:meth:`~.base_multilabel.MultiLabelBase.get_label_matrix` (1 positive,
0 negative, -1 ignored); ignored entries count neither as positive nor as
negative.
"""
from typing import Dict, List, Sequence

import numpy as np


def cooccurrence(mat: np.ndarray) -> np.ndarray:
    """``C[i, j]`` = number of images positive for both i and j (``C[i, i]``
    is the count of class i)."""
    pos = (mat == 1).astype(np.float64)
    return (pos.T @ pos).round().astype(np.int64)


def top_pairs(cooc: np.ndarray, classes: Sequence[str],
              k: int = 20) -> List[dict]:
    """The ``k`` most frequent class pairs (i < j), with P(j|i), P(i|j)."""
    n = cooc.shape[0]
    iu, ju = np.triu_indices(n, 1)
    counts = cooc[iu, ju]
    order = np.lexsort((ju, iu, -counts))[:k]
    diag = np.diag(cooc)
    out = []
    for o in order:
        i, j, c = int(iu[o]), int(ju[o]), int(counts[o])
        if c == 0:
            break
        out.append(dict(a=classes[i], b=classes[j], count=c,
                        p_b_given_a=c / diag[i], p_a_given_b=c / diag[j]))
    return out


def label_statistics(mat: np.ndarray, classes: Sequence[str],
                     top_k: int = 20) -> Dict:
    """Counts per class, labels per image, imbalance and top pairs."""
    mat = np.asarray(mat)
    if mat.ndim != 2 or mat.shape[1] != len(classes):
        raise ValueError(f'label matrix of shape {mat.shape} does not match '
                         f'{len(classes)} classes')
    n, k = mat.shape
    pos = (mat == 1).sum(0)
    neg = (mat == 0).sum(0)
    ign = (mat == -1).sum(0)
    per_image = (mat == 1).sum(1)
    hist = np.bincount(per_image, minlength=1)
    cooc = cooccurrence(mat)
    # negatives per positive; None (JSON null) for a class without positives
    per_class = [
        dict(name=classes[c], positives=int(pos[c]), negatives=int(neg[c]),
             ignored=int(ign[c]),
             frequency=float(pos[c] / n) if n else 0.0,
             neg_pos_ratio=float(neg[c] / pos[c]) if pos[c] else None)
        for c in range(k)
    ]
    total_pos, total_neg = int(pos.sum()), int(neg.sum())
    return dict(
        num_images=int(n),
        num_classes=int(k),
        labels_per_image=dict(
            mean=float(per_image.mean()) if n else 0.0,
            median=float(np.median(per_image)) if n else 0.0,
            min=int(per_image.min()) if n else 0,
            max=int(per_image.max()) if n else 0,
            histogram={int(i): int(c) for i, c in enumerate(hist) if c}),
        images_without_labels=int((per_image == 0).sum()),
        classes_without_positives=[classes[c] for c in range(k)
                                   if pos[c] == 0],
        positives=total_pos,
        negatives=total_neg,
        ignored=int(ign.sum()),
        neg_pos_ratio=float(total_neg / total_pos) if total_pos else None,
        per_class=per_class,
        top_pairs=top_pairs(cooc, classes, top_k),
    )
