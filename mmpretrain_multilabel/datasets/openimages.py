"""OpenImages V6 with human-verified image-level labels (partial annotation).

The paper pre-trains its backbones on "a precisely annotated subset of OpenImages V6"
(Prokofiev & Sovrasov 2022, https://arxiv.org/abs/2209.06585, Sec. 4.1 and 4.3: 601
classes, 1,866,950 training / 41,151 validation images; the original train and test
parts joined for training, validation for testing). The official files, as
downloaded (https://storage.googleapis.com/openimages/web/download_v6.html)::

    data/openimages
    ├── class-descriptions-boxable.csv                       601 classes, no header
    ├── train-annotations-human-imagelabels-boxable.csv      ImageID,Source,LabelName,Confidence
    ├── validation-annotations-human-imagelabels-boxable.csv
    ├── test-annotations-human-imagelabels-boxable.csv
    ├── oidv6-class-descriptions.csv                         all classes, header
    ├── oidv6-classes-trainable.txt                          one MID per line
    ├── oidv6-train-annotations-human-imagelabels.csv
    ├── validation-annotations-human-imagelabels.csv
    ├── test-annotations-human-imagelabels.csv
    ├── train/<ImageID>.jpg
    ├── validation/<ImageID>.jpg
    └── test/<ImageID>.jpg

``subset='boxable'`` (default) reads the subset with bounding boxes, whose images were
verified exhaustively for the 601 boxable classes: 1,743,042 train + 125,436 test =
1,868,478 images and 41,620 validation images, the paper's "precisely annotated subset"
(its counts are 0.1% lower: images without a positive label are dropped by default,
``drop_empty``). ``subset='all'`` reads every human-verified label of the trainable
classes (``oidv6-classes-trainable.txt``, 9,605 classes).

Targets: ``Confidence`` 1 is a positive, 0 a verified negative, and every class not
verified for an image is unknown: ``gt_score`` holds 1 / 0 / ``unverified_as`` (-1:
ignored by :class:`~mmpretrain_multilabel.models.losses.AAMLoss`, by ASL under
:class:`~mmpretrain_multilabel.models.losses.BatchSumLoss` and by
:class:`~mmpretrain_multilabel.evaluation.MultiLabelSuite`).

Labels are kept as compact arrays (an image's rows are a slice of one int32 class
array and one int8 value array); ``get_data_info`` builds the dense ``gt_score`` of a
sample with two vectorised assignments, so nothing per sample grows with Python work
per class, and the dataset holds no Python object per image (data-loader workers share
its arrays copy-on-write).
"""
import copy
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.logging import MMLogger
from mmpretrain.registry import DATASETS

from .base_multilabel import MultiLabelBase
from .openimages_csv import (
    class_vocabulary,
    read_class_descriptions,
    read_image_labels,
    read_trainable_mids,
)
from .validation import check_image_decodes, format_error

SPLIT_NAMES = ('train', 'validation', 'test')
SUBSETS = {
    'boxable': dict(
        class_file='class-descriptions-boxable.csv',
        trainable_file=None,
        label_files=dict(
            train='train-annotations-human-imagelabels-boxable.csv',
            validation='validation-annotations-human-imagelabels-boxable.csv',
            test='test-annotations-human-imagelabels-boxable.csv')),
    'all': dict(
        class_file='oidv6-class-descriptions.csv',
        trainable_file='oidv6-classes-trainable.txt',
        label_files=dict(
            train='oidv6-train-annotations-human-imagelabels.csv',
            validation='validation-annotations-human-imagelabels.csv',
            test='test-annotations-human-imagelabels.csv')),
}


def unique_names(names: Sequence[str], mids: Sequence[str]) -> tuple:
    """Display names, with the MID appended to names that repeat."""
    counts: Dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return tuple(n if counts[n] == 1 else f'{n} ({m})' for n, m in zip(names, mids))


def resolve_splits(split: str, join_test: bool) -> tuple:
    """Official parts read for ``split`` (Sec. 4.1: train + test, validation)."""
    split = {'val': 'validation'}.get(split, split)
    if split not in SPLIT_NAMES:
        raise ValueError(f'OpenImagesMultiLabel: split must be one of '
                         f"{SPLIT_NAMES + ('val', )}, got {split!r}")
    if split == 'train':
        return ('train', 'test') if join_test else ('train', )
    if split == 'test' and join_test:
        raise ValueError("OpenImagesMultiLabel: split='test' is part of the training "
                         'set with join_test=True (the paper, Sec. 4.1); set '
                         'join_test=False to evaluate on it')
    return (split, )


@DATASETS.register_module()
class OpenImagesMultiLabel(MultiLabelBase):
    """OpenImages V6 image-level labels in the official layout (module doc).

    Args:
        data_root (str): Folder of the CSV files and the image folders.
        split (str): ``'train'``, ``'val'`` / ``'validation'`` or ``'test'``.
        subset (str): ``'boxable'`` (the paper's precisely annotated subset, 601
            classes; default) or ``'all'`` (every human-verified label of the
            trainable classes).
        join_test (bool): Train on the official train and test parts together
            and keep validation for testing, as the paper (Sec. 4.1). Defaults
            to True.
        class_file (str, optional): Class descriptions (``MID,DisplayName``)
            relative to ``data_root``; defaults to the subset's file.
        trainable_file (str, optional): MIDs trained on, one per line; the
            default for ``'all'`` is ``oidv6-classes-trainable.txt``. Labels of
            other known MIDs are dropped; an MID missing from the class
            descriptions is an error.
        label_files (dict, optional): ``{part: CSV}`` overriding the subset's
            label files.
        image_dirs (dict, optional): ``{part: folder}`` of the images, relative
            to ``data_root``. Defaults to ``train``, ``validation``, ``test``.
        img_suffix (str): Image file extension. Defaults to ``'.jpg'``.
        drop_empty (bool): Drop images without a positive label. Defaults to
            True. Images with no verified label of a trained class are always
            dropped.
        unverified_as (int): ``gt_score`` of classes not verified for an image:
            -1 (ignored; default) or 0 (negative).
        **kwargs: Arguments of :class:`MultiLabelBase` (``check_images`` names
            the label file and line of a missing image) and MMPretrain's
            ``BaseDataset`` (``pipeline``, ``test_mode``, ``indices``...).
    """

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 subset: str = 'boxable',
                 join_test: bool = True,
                 class_file: Optional[str] = None,
                 trainable_file: Optional[str] = None,
                 label_files: Optional[Dict[str, str]] = None,
                 image_dirs: Optional[Dict[str, str]] = None,
                 img_suffix: str = '.jpg',
                 drop_empty: bool = True,
                 unverified_as: int = -1,
                 **kwargs):
        if subset not in SUBSETS:
            raise ValueError(f'OpenImagesMultiLabel: subset must be one of '
                             f'{tuple(SUBSETS)}, got {subset!r}')
        if unverified_as not in (-1, 0):
            raise ValueError('OpenImagesMultiLabel: unverified_as must be -1 (ignored) '
                             f'or 0 (negative), got {unverified_as!r}')
        defaults = SUBSETS[subset]
        self.parts = resolve_splits(split, join_test)
        files = dict(defaults['label_files'], **(label_files or {}))
        self.label_files = tuple(osp.join(data_root, files[p]) for p in self.parts)
        dirs = dict(zip(SPLIT_NAMES, SPLIT_NAMES), **(image_dirs or {}))
        self.image_dirs = tuple(osp.join(data_root, dirs[p]) for p in self.parts)
        self.class_file = osp.join(data_root, class_file or defaults['class_file'])
        trainable_file = trainable_file or defaults['trainable_file']
        self.trainable_file = trainable_file and osp.join(data_root, trainable_file)
        self.img_suffix = img_suffix
        self.drop_empty = drop_empty
        self.unverified_as = unverified_as

        desc = read_class_descriptions(self.class_file)
        names = dict(zip(desc.mids, desc.names))
        self.mids = tuple(read_trainable_mids(self.trainable_file, names)
                          if self.trainable_file else desc.mids)
        self._vocab, self._vocab_class = class_vocabulary(desc.mids, self.mids)
        classes = unique_names([names[m] for m in self.mids], self.mids)
        super().__init__(ann_file='', data_root=data_root, classes=classes,
                         serialize_data=False, **kwargs)

    @property
    def ann_source(self) -> str:
        return ', '.join(self.label_files)

    # ----------------------------------------------------------------- loading
    def full_init(self) -> None:
        """Parse the label files into compact arrays (no ``data_list``)."""
        if self._fully_initialized:
            return
        self._load_arrays()
        self._index = None
        if self._indices is not None:
            self._index = self._select(self._indices)
        self._fully_initialized = True
        if self.check_images:
            self._check_images()

    def _load_arrays(self) -> None:
        rows = [read_image_labels(f, self._vocab, self._vocab_class) for f in self.label_files]
        run_offsets = np.cumsum([0] + [len(r.run_keys) for r in rows])
        run_keys = np.concatenate([r.run_keys for r in rows])
        run_lines = np.concatenate([r.run_lines for r in rows])
        run_file = np.repeat(np.arange(len(rows), dtype=np.uint8),
                             [len(r.run_keys) for r in rows])
        row_run = np.concatenate([r.row_run + o for r, o in zip(rows, run_offsets)])
        row_class = np.concatenate([r.row_class for r in rows])
        row_value = np.concatenate([r.row_value for r in rows])
        del rows

        image_ids, run_image = np.unique(run_keys, return_inverse=True)
        # the first run of each image (reversed assignment: the first one wins)
        first_run = np.empty(len(image_ids), dtype=np.int64)
        first_run[run_image[::-1]] = np.arange(len(run_keys) - 1, -1, -1)
        clash = run_file != run_file[first_run][run_image]
        if clash.any():
            i = int(np.flatnonzero(clash)[0])
            j = int(first_run[run_image[i]])
            raise format_error(
                self.label_files[run_file[i]], f'image {run_keys[i].decode()} is also '
                f'listed in {self.label_files[run_file[j]]}:{run_lines[j]} (an image '
                'belongs to one part)', line=int(run_lines[i]))

        row_image = run_image[row_run]
        del row_run
        trained = row_class >= 0
        self.num_untrained_labels = int(len(trained) - trained.sum())
        row_image, row_class, row_value = (
            row_image[trained], row_class[trained], row_value[trained])
        keep = np.bincount(row_image, minlength=len(image_ids)) > 0
        if self.drop_empty:
            keep &= np.bincount(row_image[row_value == 1], minlength=len(image_ids)) > 0
        new_id = np.cumsum(keep) - 1
        rows_kept = keep[row_image]
        row_image = new_id[row_image[rows_kept]]
        order = np.argsort(row_image, kind='stable')
        dtype = np.int16 if len(self.mids) <= np.iinfo(np.int16).max else np.int32
        self._labels = row_class[rows_kept][order].astype(dtype)
        self._values = row_value[rows_kept][order]
        self._offsets = np.zeros(int(keep.sum()) + 1, dtype=np.int64)
        np.cumsum(np.bincount(row_image, minlength=len(self._offsets) - 1),
                  out=self._offsets[1:])
        self._image_ids = image_ids[keep]
        self._image_file = run_file[first_run[keep]]
        self._image_line = run_lines[first_run[keep]]
        self.num_dropped_images = int(len(image_ids) - keep.sum())
        MMLogger.get_current_instance().info(
            f'OpenImagesMultiLabel {"+".join(self.parts)}: {len(self._image_ids)} images, '
            f'{len(self._labels)} verified labels of {len(self.mids)} classes '
            f'({self.num_dropped_images} images and {self.num_untrained_labels} labels of '
            'untrained classes dropped)')

    def _select(self, indices: Union[int, Sequence[int]]) -> np.ndarray:
        base = np.arange(len(self._image_ids)) if self._index is None else self._index
        if isinstance(indices, int):
            return base[:indices] if indices >= 0 else base[indices:]
        return base[np.asarray(indices, dtype=np.int64)]

    def _check_images(self) -> None:
        """Every image exists (and decodes, with ``check_images='decode'``)."""
        kept = []
        for i in range(len(self)):
            path = self._image_path(self._row(i))
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'image file not found: {path} (ImageID listed at '
                    f'{self._image_source(self._row(i))}); check data_root / image_dirs')
            if self.check_images == 'decode':
                try:
                    check_image_decodes(path)
                except ValueError:
                    if self.on_corrupt == 'error':
                        raise
                    continue
            kept.append(i)
        if len(kept) < len(self):
            MMLogger.get_current_instance().warning(
                f'OpenImagesMultiLabel: skipped {len(self) - len(kept)} corrupt images')
            self._index = self._select(kept)

    # ----------------------------------------------------------------- access
    def _row(self, idx: int) -> int:
        return int(idx if self._index is None else self._index[idx])

    def _image_path(self, row: int) -> str:
        return osp.join(self.image_dirs[self._image_file[row]],
                        self._image_ids[row].decode() + self.img_suffix)

    def _image_source(self, row: int) -> str:
        return f'{self.label_files[self._image_file[row]]}:{self._image_line[row]}'

    def __len__(self) -> int:
        if not self._fully_initialized:
            self.full_init()
        return len(self._image_ids) if self._index is None else len(self._index)

    def get_data_info(self, idx: int) -> dict:
        """Image path, positive ids and the dense 1 / 0 / -1 ``gt_score``."""
        if not self._fully_initialized:
            self.full_init()
        if idx < 0:
            idx += len(self)
        row = self._row(idx)
        lo, hi = self._offsets[row], self._offsets[row + 1]
        labels, values = self._labels[lo:hi], self._values[lo:hi]
        positive = labels[values == 1]
        score = np.full(len(self.mids), self.unverified_as, dtype=np.float32)
        score[labels[values == 0]] = 0
        score[positive] = 1  # positive wins if a pair is verified both ways
        return dict(img_path=self._image_path(row), gt_label=np.unique(positive).astype(np.int64),
                    gt_score=score, sample_idx=idx)

    def get_subset_(self, indices: Union[int, Sequence[int]]) -> None:
        self.full_init()
        self._index = self._select(indices)

    def get_subset(self, indices: Union[int, Sequence[int]]) -> 'OpenImagesMultiLabel':
        self.full_init()
        other = copy.copy(self)  # shares the (read-only) label arrays
        other._index = self._select(indices)
        return other

    def get_label_matrix(self) -> np.ndarray:
        """``(N, K)`` int8: 1 positive, 0 verified negative, ``unverified_as``."""
        rows = np.arange(len(self))
        image = rows if self._index is None else self._index
        starts = self._offsets[image]
        counts = self._offsets[image + 1] - starts
        # the label rows of every selected image, concatenated (a ragged arange)
        owner = np.repeat(rows, counts)
        flat = np.arange(counts.sum()) + np.repeat(starts - (np.cumsum(counts) - counts), counts)
        mat = np.full((len(self), len(self.mids)), self.unverified_as, dtype=np.int8)
        for value in (0, 1):
            sel = self._values[flat] == value
            mat[owner[sel], self._labels[flat][sel]] = value
        return mat

    def extra_repr(self) -> List[str]:
        return [f'Parts: \t{"+".join(self.parts)}',
                f'Label files: \t{self.ann_source}',
                f'Class file: \t{self.class_file}',
                f'Image folders: \t{", ".join(self.image_dirs)}']
