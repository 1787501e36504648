"""A synthetic OpenImages V6 fixture in the exact official file layout.

Tests and ``benchmarks/openimages_loading.py`` need OpenImages files without the
download (hundreds of GB): :func:`write_openimages_fixture` writes the class
descriptions (``class-descriptions-boxable.csv`` without a header,
``oidv6-class-descriptions.csv`` with one), the trainable list and the
human-verified image-level label CSVs (header ``ImageID,Source,LabelName,Confidence``,
16-hex-digit ImageIDs, rows grouped by image and sorted by ImageID as the official
files are), and optionally the images: each class that is present in an image is
drawn as a square of its own colour in its own cell of a grid, so that a small
network learns the fixture in a few dozen iterations. Like the real data, some
present classes are left unverified and most absent ones are not verified at all.
"""
import os
import os.path as osp
from typing import Dict, Optional

import numpy as np

from .openimages import SUBSETS

SOURCES = ('verification', 'crowdsource-verification')


def synthetic_mids(num_classes: int) -> list:
    """Distinct MIDs in both official forms (``/m/0...`` and ``/g/11...``)."""
    if num_classes > 1 << 20:
        raise ValueError(f'at most {1 << 20} classes, got {num_classes}')
    return [(f'/g/11{(i * 7919 + 13) % (1 << 20):05x}' if i % 7 == 6 else
             f'/m/0{(i * 7919 + 13) % (1 << 20):05x}') for i in range(num_classes)]


def _palette(num_classes: int) -> np.ndarray:
    hue = np.arange(num_classes) / max(num_classes, 1)
    rgb = 0.5 + 0.5 * np.cos(2 * np.pi * (hue[:, None] + np.array([0, 1 / 3, 2 / 3])))
    return (40 + 215 * rgb).astype(np.uint8)


def _draw(present: np.ndarray, num_classes: int, size: int,
          rng: np.random.RandomState) -> np.ndarray:
    grid = int(np.ceil(np.sqrt(num_classes)))
    cell = size // grid
    img = rng.randint(0, 60, size=(size, size, 3)).astype(np.uint8)
    colours = _palette(num_classes)
    for c in present:
        y, x = divmod(int(c), grid)
        side = max(2, int(cell * rng.uniform(0.6, 0.9)))
        oy, ox = rng.randint(0, max(cell - side, 0) + 1, size=2)
        img[y * cell + oy:y * cell + oy + side, x * cell + ox:x * cell + ox + side] = \
            colours[c]
    return img


def _label_rows(image_ids: np.ndarray, num_classes: int, labels_per_image: float,
                rng: np.random.RandomState):
    """Per image: present classes (verified 1 with p 0.9) and verified negatives."""
    n = len(image_ids)
    num_pos = np.clip(rng.poisson(labels_per_image * 0.45, size=n), 1, num_classes)
    num_neg = np.clip(rng.poisson(labels_per_image * 0.55, size=n), 0, num_classes)
    present, rows = [], []
    for i in range(n):
        k = min(num_classes, num_pos[i] + num_neg[i])
        classes = rng.choice(num_classes, size=k, replace=False)
        pos = classes[:num_pos[i]]
        present.append(pos)
        verified_pos = pos[rng.rand(len(pos)) < 0.9]
        rows.append((i, np.concatenate([verified_pos, classes[num_pos[i]:]]),
                     np.r_[np.ones(len(verified_pos), np.int8),
                           np.zeros(k - num_pos[i], np.int8)]))
    return present, rows


def write_openimages_fixture(root: str,
                             num_classes: int = 601,
                             num_images: Optional[Dict[str, int]] = None,
                             labels_per_image: float = 5.23,
                             subset: str = 'boxable',
                             img_size: Optional[int] = None,
                             extra_classes: int = 3,
                             seed: int = 0) -> dict:
    """Write the fixture under ``root``; return its MIDs, names and images.

    Args:
        root (str): Output folder (the dataset's ``data_root``).
        num_classes (int): Classes trained on (601 in the boxable subset).
        num_images (dict, optional): Images per official part. Defaults to
            ``dict(train=8, validation=4, test=4)``.
        labels_per_image (float): Mean verified labels per image (the paper's
            5.23 counts positives and negatives of the boxable subset).
        subset (str): File names of ``'boxable'`` or ``'all'`` (the latter also
            lists ``extra_classes`` known classes that are not trainable).
        img_size (int, optional): Write JPEG images of this side; None writes
            only the CSV files.
        extra_classes (int): Non-trainable classes of the ``'all'`` layout.
        seed (int): Random seed.

    Returns:
        dict: ``mids``, ``names`` and ``images`` (``{part: [ImageID, ...]}``).
    """
    from PIL import Image

    files = SUBSETS[subset]
    num_images = num_images or dict(train=8, validation=4, test=4)
    rng = np.random.RandomState(seed)
    mids = synthetic_mids(num_classes + extra_classes)
    names = [f'Class {i}' for i in range(len(mids))]
    os.makedirs(root, exist_ok=True)
    if subset == 'boxable':
        mids, names = mids[:num_classes], names[:num_classes]
        with open(osp.join(root, files['class_file']), 'w') as f:
            f.writelines(f'{m},{n}\n' for m, n in zip(mids, names))
    else:
        with open(osp.join(root, files['class_file']), 'w') as f:
            f.write('LabelName,DisplayName\n')
            f.writelines(f'{m},"{n}, synthetic"\n' for m, n in zip(mids, names))
        with open(osp.join(root, files['trainable_file']), 'w') as f:
            f.writelines(f'{m}\n' for m in mids[:num_classes])
    images = {}
    mid_column = np.array(mids)
    for part, count in num_images.items():
        ids = np.unique(rng.randint(0, 1 << 62, size=int(count * 1.01) + 8,
                                    dtype=np.int64))[:count]
        rng.shuffle(ids)
        ids = np.sort(np.array([f'{v:016x}' for v in ids]))
        images[part] = ids.tolist()
        present, rows = _label_rows(ids, num_classes, labels_per_image, rng)
        if subset == 'all' and extra_classes:  # labels of known, untrained classes
            rows[0] = (0, np.r_[rows[0][1], num_classes], np.r_[rows[0][2], 1])
        lines = ['ImageID,Source,LabelName,Confidence\n']
        for i, classes, values in rows:
            src = rng.randint(len(SOURCES), size=len(classes))
            lines.extend(f'{ids[i]},{SOURCES[s]},{m},{v}\n'
                         for s, m, v in zip(src, mid_column[classes], values))
        with open(osp.join(root, files['label_files'][part]), 'w') as f:
            f.writelines(lines)
        if img_size:
            os.makedirs(osp.join(root, part), exist_ok=True)
            for image_id, pos in zip(ids, present):
                Image.fromarray(_draw(pos, num_classes, img_size, rng)).save(
                    osp.join(root, part, f'{image_id}.jpg'), quality=95)
    return dict(mids=mids[:num_classes], names=names[:num_classes], images=images)
