"""Common base of the plugin's multilabel datasets.

It adds to MMPretrain's :class:`~mmpretrain.datasets.MultiLabelDataset`:

- optional image checks at load time (``check_images``, ``on_corrupt``);
- :meth:`get_label_matrix`: the ``(N, K)`` label matrix (1 positive, 0
  negative, -1 ignored) used by statistics and label-graph builders;
- :meth:`get_gt_labels` that works with ragged label lists (the stock one
  builds a ragged NumPy array, an error with NumPy >= 1.24).

Samples may carry ignored labels in ``gt_label_difficult`` (VOC's name) or
``gt_label_ignore``; :class:`~.transforms.MarkIgnoredLabels` turns them into
``gt_score = -1`` for the loss and the metrics.
"""
from typing import List

import numpy as np
from mmpretrain.datasets import MultiLabelDataset

from .validation import CHECK_IMAGES_MODES, ON_CORRUPT_MODES, check_image_files

IGNORE_KEYS = ('gt_label_difficult', 'gt_label_ignore')


def label_matrix(data_infos, num_classes: int) -> np.ndarray:
    """``(N, K)`` int8 matrix from samples' ``gt_label`` and ignore keys.

    The one label-matrix builder of the package: datasets, statistics and
    label graphs all count from it. A class listed as positive stays
    positive even if it is also listed as difficult (VOC: a class with one
    non-difficult object is positive).

    Args:
        data_infos (Sequence[dict]): Samples with ``gt_label`` (positive
            class indices) and optionally ``gt_label_difficult`` /
            ``gt_label_ignore``.
        num_classes (int): Number of classes K.

    Returns:
        np.ndarray: int8 ``(N, K)``: 1 positive, 0 negative, -1 ignored.

    Raises:
        ValueError: A label index outside ``[0, K)``, naming the sample.
    """
    mat = np.zeros((len(data_infos), num_classes), dtype=np.int8)
    for i, info in enumerate(data_infos):
        for key in (*IGNORE_KEYS, 'gt_label'):
            idx = info.get(key)
            if idx is None or not len(idx):
                continue
            idx = np.asarray(idx, dtype=np.int64).reshape(-1)
            if idx.min() < 0 or idx.max() >= num_classes:
                raise ValueError(f'sample {i}: {key} index out of range [0, {num_classes}): '
                                 f'{idx.tolist()}')
            mat[i, idx] = 1 if key == 'gt_label' else -1
    return mat


def check_indices(indices, num_samples: int, source: str) -> None:
    """Raise a ``ValueError`` naming ``source`` if the ``indices`` list of a
    dataset config selects samples past its ``num_samples`` (an int selects
    the first ``indices`` samples and is clipped, as in MMEngine)."""
    if isinstance(indices, int):
        return
    bad = [int(i) for i in indices if not -num_samples <= int(i) < num_samples]
    if bad:
        raise ValueError(
            f'{source}: indices select samples {bad[0]}..{bad[-1]} ({len(bad)} in all) '
            f'but it holds {num_samples} samples (0..{num_samples - 1}): give '
            f'indices within them (is a config written for a larger set of photos '
            f'pointed at a smaller one?)')


class MultiLabelBase(MultiLabelDataset):
    """MultiLabelDataset with image checks and a label matrix.

    Args:
        check_images (bool | str): Check images when the dataset is loaded:
            ``False`` (default: a missing image is reported when it is first
            read, see :class:`~.transforms.CheckedLoadImageFromFile`),
            ``True`` or ``'exists'`` (every image must exist) or
            ``'decode'`` (every image must also decode; opens each file).
        on_corrupt (str): With ``check_images='decode'``: ``'error'`` (raise
            on the first undecodable image) or ``'skip'`` (drop them, warn
            with their count). Defaults to ``'error'``.
        **kwargs: Arguments of :class:`MultiLabelDataset`.
    """

    def __init__(self, *args, check_images=False, on_corrupt: str = 'error',
                 **kwargs):
        if check_images not in CHECK_IMAGES_MODES:
            raise ValueError(
                f'{type(self).__name__}: check_images must be one of '
                f'{CHECK_IMAGES_MODES}, got {check_images!r}')
        if on_corrupt not in ON_CORRUPT_MODES:
            raise ValueError(f'{type(self).__name__}: on_corrupt must be one '
                             f'of {ON_CORRUPT_MODES}, got {on_corrupt!r}')
        self.check_images = check_images
        self.on_corrupt = on_corrupt
        super().__init__(*args, **kwargs)

    @property
    def ann_source(self) -> str:
        """The annotation file(s) named in messages."""
        return self.ann_file or getattr(self, 'data_root', '') or \
            type(self).__name__

    def filter_data(self) -> List[dict]:
        """Run the optional image checks (MMEngine's filtering hook)."""
        data_list = super().filter_data()
        return check_image_files(data_list, self.check_images,
                                 self.on_corrupt, self.ann_source)

    def _get_unserialized_subset(self, indices):
        """MMEngine's subset by ``indices``, with a named error for indices
        past the end (e.g. a config written for a larger set of photos)."""
        check_indices(indices, len(self.data_list), self.ann_source)
        return super()._get_unserialized_subset(indices)

    def get_gt_labels(self) -> np.ndarray:
        """Positive label ids of every sample (object array of int arrays)."""
        out = np.empty(len(self), dtype=object)
        for i in range(len(self)):
            out[i] = np.asarray(self.get_data_info(i)['gt_label'],
                                dtype=np.int64)
        return out

    def get_label_matrix(self) -> np.ndarray:
        """``(N, K)`` int8 matrix: 1 positive, 0 negative, -1 ignored."""
        infos = [self.get_data_info(i) for i in range(len(self))]
        return label_matrix(infos, len(self.CLASSES))
