"""NUS-WIDE (81 concepts) in the two layouts its users distribute.

- ``layout='asl_csv'`` (default; the paper's split, ~119k train / ~50k val):
  ASL's / ML-Decoder's ``nus_wid_data.csv`` with the images they
  redistributed (``images/*.jpg``). Columns: image path, label list written
  as a Python list (``"['clouds', 'sky']"``), split name (``train``/``val``).
- ``layout='official'``: the NUS-WIDE release, as read by Query2Label:
  ``ImageList/{Train,Test}Imagelist.txt`` (Windows paths such as
  ``actor\\0001_2124494179.jpg``), the per-concept ground truth
  ``Groundtruth/TrainTestLabels/Labels_<concept>_{Train,Test}.txt`` (one
  0/1 per image line), or the merged ``Groundtruth/Labels_{Train,Test}.txt``
  (one line of 81 0/1 per image), and the images under ``Flickr/``.

See ``docs/datasets.md`` for the exact files.
"""
import csv
import os.path as osp
import re
from typing import List, Optional, Tuple

import numpy as np
from mmpretrain.registry import DATASETS

from .base_multilabel import MultiLabelBase
from .validation import (
    check_duplicates,
    check_file,
    format_error,
    names_to_ids,
    read_class_names,
    read_lines,
)

# Concepts81.txt of the release (alphabetical); ASL's CSV uses the same names.
NUS_WIDE_CATEGORIES = (
    'airport', 'animal', 'beach', 'bear', 'birds', 'boats', 'book', 'bridge',
    'buildings', 'cars', 'castle', 'cat', 'cityscape', 'clouds', 'computer',
    'coral', 'cow', 'dancing', 'dog', 'earthquake', 'elk', 'fire', 'fish',
    'flags', 'flowers', 'food', 'fox', 'frost', 'garden', 'glacier', 'grass',
    'harbor', 'horses', 'house', 'lake', 'leaf', 'map', 'military', 'moon',
    'mountain', 'nighttime', 'ocean', 'person', 'plane', 'plants', 'police',
    'protest', 'railroad', 'rainbow', 'reflection', 'road', 'rocks',
    'running', 'sand', 'sign', 'sky', 'snow', 'soccer', 'sports', 'statue',
    'street', 'sun', 'sunset', 'surf', 'swimmers', 'tattoo', 'temple',
    'tiger', 'tower', 'town', 'toy', 'train', 'tree', 'valley', 'vehicle',
    'water', 'waterfall', 'wedding', 'whales', 'window', 'zebra')

LAYOUTS = ('asl_csv', 'official')
SPLITS = ('train', 'val', 'test')
_DRIVE = re.compile(r'^[A-Za-z]:/')


def parse_label_list(text: str) -> List[str]:
    """``"['clouds', 'sky']"`` -> ``['clouds', 'sky']`` (no eval)."""
    text = text.strip()
    if not (text.startswith('[') and text.endswith(']')):
        raise ValueError(f'expected a list like "[\'sky\', \'clouds\']", got '
                         f'{text[:40]!r}')
    items = [t.strip().strip('\'"').strip() for t in text[1:-1].split(',')]
    return [t for t in items if t]


def release_path(line: str) -> str:
    """A release image-list entry as a path relative to ``Flickr/``."""
    path = line.strip().replace('\\', '/')
    if 'Flickr/' in path:
        path = path.split('Flickr/', 1)[1]
    elif _DRIVE.match(path):  # C:/ImageData/<concept>/<file>.jpg
        path = '/'.join(path.split('/')[-2:])
    return path


def read_binary_column(path: str, n: int) -> np.ndarray:
    """One 0/1 value per line, ``n`` lines, as an int8 array."""
    check_file(path, 'label file')
    with open(path, 'rb') as f:
        values = np.fromstring(f.read(), dtype=np.int64, sep=' ')
    return _check_binary(values, path, n, 1)[:, 0]


def read_binary_matrix(path: str, n: int, k: int) -> np.ndarray:
    """``n`` lines of ``k`` 0/1 values as an ``(n, k)`` int8 array."""
    check_file(path, 'label file')
    with open(path, 'rb') as f:
        values = np.fromstring(f.read(), dtype=np.int64, sep=' ')
    return _check_binary(values, path, n, k)


def _check_binary(values: np.ndarray, path: str, n: int,
                  k: int) -> np.ndarray:
    if values.size != n * k:
        raise format_error(
            path, f'expected {n} lines of {k} value(s) (one per image of the '
            f'image list), found {values.size} values')
    bad = np.flatnonzero((values != 0) & (values != 1))
    if len(bad):
        raise format_error(path, f'label value {int(values[bad[0]])} is not '
                           '0 or 1', line=int(bad[0]) // k + 1)
    return values.reshape(n, k).astype(np.int8)


@DATASETS.register_module()
class NusWideMultiLabel(MultiLabelBase):
    """NUS-WIDE, 81 concepts.

    Args:
        data_root (str): Dataset root.
        split (str): ``'train'`` or ``'val'`` (``'test'`` is the same
            split: ASL's CSV calls it ``val``, the release ``Test``).
        layout (str): ``'asl_csv'`` (default) or ``'official'``.
        ann_file (str): The CSV (``asl_csv``; default ``nus_wid_data.csv``).
        data_prefix (str | dict): Image folder relative to ``data_root``:
            ``''`` for ``asl_csv`` (its paths start with ``images/``),
            ``'Flickr'`` for ``official``.
        drop_empty (bool): Drop images without any of the 81 concepts (as
            Query2Label does with the release). Defaults to True.
        **kwargs: Arguments of :class:`MultiLabelBase` and MMPretrain's
            ``BaseDataset``.
    """

    METAINFO = dict(classes=NUS_WIDE_CATEGORIES)

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 layout: str = 'asl_csv',
                 ann_file: str = '',
                 data_prefix=None,
                 drop_empty: bool = True,
                 **kwargs):
        if layout not in LAYOUTS:
            raise ValueError(f'NusWideMultiLabel: layout must be one of '
                             f'{LAYOUTS}, got {layout!r}')
        if split not in SPLITS:
            raise ValueError(f'NusWideMultiLabel: split must be one of '
                             f'{SPLITS}, got {split!r}')
        self.split = split
        self.layout = layout
        self.drop_empty = drop_empty
        if layout == 'asl_csv':
            ann_file = ann_file or 'nus_wid_data.csv'
        if data_prefix is None:
            data_prefix = '' if layout == 'asl_csv' else 'Flickr'
        super().__init__(ann_file=ann_file, data_root=data_root,
                         data_prefix=data_prefix, **kwargs)

    @property
    def ann_source(self) -> str:
        return self.ann_file or self.data_root

    def load_data_list(self) -> List[dict]:
        if self.layout == 'asl_csv':
            paths, labels, lines = self._load_asl_csv()
            source = self.ann_file
        else:
            paths, labels, lines = self._load_official()
            source = osp.join(self.data_root, 'ImageList',
                              f'{self._release_split}Imagelist.txt')
        check_duplicates(paths, source, lines, what='image')
        prefix = self.img_prefix
        data_list = []
        for path, lab in zip(paths, labels):
            if self.drop_empty and not lab:
                continue
            data_list.append(dict(
                img_path=osp.join(prefix, path) if prefix else path,
                gt_label=lab))
        if not data_list:
            raise format_error(source, f'no images in split {self.split!r}')
        return data_list

    # ----------------------------------------------------------- ASL's CSV
    def _load_asl_csv(self) -> Tuple[List[str], List[List[int]], List[int]]:
        file = self.ann_file
        check_file(file, 'NUS-WIDE CSV')
        wanted = 'train' if self.split == 'train' else 'val'
        class_to_idx = {c: i for i, c in enumerate(self.CLASSES)}
        paths, labels, lines = [], [], []
        with open(file, newline='', encoding='utf-8-sig') as f:
            reader = csv.reader(f)
            cols: Optional[Tuple[int, int, int]] = None
            for fields in reader:
                line = reader.line_num
                if not fields or not ''.join(fields).strip():
                    continue
                if cols is None:
                    cols, is_header = self._csv_columns(fields, file, line)
                    if is_header:
                        continue
                if len(fields) <= max(cols):
                    raise format_error(
                        file, f'malformed line: expected {max(cols) + 1} '
                        f'fields (path, label list, split), got '
                        f'{len(fields)}', line=line)
                split = fields[cols[2]].strip()
                if split not in ('train', 'val'):
                    raise format_error(file, f'unknown split {split!r} '
                                       "(expected 'train' or 'val')",
                                       line=line, field='split_name')
                if split != wanted:
                    continue
                try:
                    names = parse_label_list(fields[cols[1]])
                except ValueError as e:
                    raise format_error(file, str(e), line=line,
                                       field='label') from None
                ids = names_to_ids(names, class_to_idx, file, line, 'label')
                paths.append(fields[cols[0]].strip())
                labels.append(sorted(set(ids)))
                lines.append(line)
        if cols is None:
            raise format_error(file, 'the CSV has no rows')
        return paths, labels, lines

    @staticmethod
    def _csv_columns(fields: List[str], file: str,
                     line: int) -> Tuple[Tuple[int, int, int], bool]:
        """Column indices (path, labels, split) and whether ``fields`` is a
        header (else the columns are positional)."""
        names = [f.strip().lower() for f in fields]
        if 'label' in names or 'labels' in names:
            def find(options):
                for o in options:
                    if o in names:
                        return names.index(o)
                raise format_error(file, f'header has none of {options}',
                                   line=line)
            return (find(('filepath', 'filename', 'file', 'image', 'path',
                          'img_path')),
                    find(('label', 'labels')),
                    find(('split_name', 'split'))), True
        return (0, 1, 2), False

    # ----------------------------------------------------- the release
    @property
    def _release_split(self) -> str:
        return 'Train' if self.split == 'train' else 'Test'

    def _concepts(self) -> Tuple[str, ...]:
        for rel in ('Concepts81.txt', osp.join('ConceptsList',
                                               'Concepts81.txt')):
            path = osp.join(self.data_root, rel)
            if osp.isfile(path):
                names = read_class_names(path)
                if len(names) != 81:
                    raise format_error(path, f'expected 81 concepts, found '
                                       f'{len(names)}')
                return names
        return NUS_WIDE_CATEGORIES

    def _load_official(self) -> Tuple[List[str], List[List[int]], List[int]]:
        root, split = self.data_root, self._release_split
        concepts = self._concepts()
        if tuple(self.CLASSES) != concepts:
            if set(self.CLASSES) - set(concepts):
                raise format_error(
                    root, 'classes not among the 81 concepts: '
                    f'{sorted(set(self.CLASSES) - set(concepts))[:5]}')
        list_file = osp.join(root, 'ImageList', f'{split}Imagelist.txt')
        entries = read_lines(list_file, 'NUS-WIDE image list')
        paths = [release_path(s) for _, s in entries]
        lines = [i for i, _ in entries]
        n = len(paths)
        merged = osp.join(root, 'Groundtruth', f'Labels_{split}.txt')
        if osp.isfile(merged):
            matrix = read_binary_matrix(merged, n, len(concepts))
        else:
            gt_dir = osp.join(root, 'Groundtruth', 'TrainTestLabels')
            matrix = np.stack([
                read_binary_column(
                    osp.join(gt_dir, f'Labels_{c}_{split}.txt'), n)
                for c in concepts
            ], axis=1)
        # columns in the dataset's class order
        col = [concepts.index(c) for c in self.CLASSES]
        matrix = matrix[:, col]
        rows, cls = np.nonzero(matrix)
        bounds = np.searchsorted(rows, np.arange(n + 1)).tolist()
        cls = cls.tolist()
        labels = [cls[bounds[i]:bounds[i + 1]] for i in range(n)]
        return paths, labels, lines
