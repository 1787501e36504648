"""Data transforms of the multilabel datasets.

- :class:`MarkIgnoredLabels`: ``gt_score`` with -1 for ignored labels (VOC
  "difficult", COCO crowd-only), read by the AAM loss and the metrics.
- :class:`CheckedLoadImageFromFile`: MMCV's ``LoadImageFromFile`` with clear
  errors for missing and corrupt images (or skipping corrupt ones).
- :class:`RelativeCutout`: MMPretrain's ``Cutout`` with the hole size as a
  fraction of the image side (the paper's "factor 0.4").
"""
import os.path as osp
import warnings
from typing import Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform, LoadImageFromFile
from mmpretrain.datasets.transforms import Cutout
from mmpretrain.registry import TRANSFORMS

from .base_multilabel import IGNORE_KEYS
from .validation import ON_CORRUPT_MODES, CorruptImageError


@TRANSFORMS.register_module()
class MarkIgnoredLabels(BaseTransform):
    """Build ``gt_score`` with ignored labels set to ``ignore_as``.

    MMPretrain's ``VOC`` keeps difficult-only classes in
    ``gt_label_difficult`` and leaves them negative in training (only its
    ``VOCMetricMixin`` sets them to -1, at evaluation). This transform writes
    the same rule into the sample's ``gt_score`` (a class positive through
    any non-difficult object stays positive; a class seen only in difficult
    objects gets ``ignore_as``), so the training loss and every metric read
    the same targets: ``PackInputs`` packs ``gt_score``, the data
    preprocessor and ``MultiLabelClsHead`` prefer it to ``gt_label``, and
    MMPretrain's multilabel metrics drop -1 targets.

    Use a loss that ignores -1 targets (the plugin's AAM loss) with the
    default ``ignore_as=-1``; MMPretrain's stock BCE and asymmetric losses do
    not, so with them choose ``ignore_as=0`` (difficult as negative, VOC's
    training default) or ``1``.

    Required keys: ``gt_label``; optional: ``gt_label_difficult``,
    ``gt_label_ignore`` (or the keys in ``ignore_keys``).
    Added keys: ``gt_score`` (float32, ``num_classes``).

    Args:
        num_classes (int): Number of classes.
        ignore_keys (Sequence[str]): Sample keys with label ids to ignore.
            Defaults to ``('gt_label_difficult', 'gt_label_ignore')``.
        ignore_as (int): Target of ignored labels: -1 (excluded from loss
            and metrics), 0 or 1. Defaults to -1.
    """

    def __init__(self, num_classes: int,
                 ignore_keys: Sequence[str] = IGNORE_KEYS,
                 ignore_as: int = -1):
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f'MarkIgnoredLabels: num_classes must be a '
                             f'positive int, got {num_classes!r}')
        if ignore_as not in (-1, 0, 1):
            raise ValueError(f'MarkIgnoredLabels: ignore_as must be -1, 0 or '
                             f'1, got {ignore_as!r}')
        self.num_classes = num_classes
        self.ignore_keys = tuple(ignore_keys)
        self.ignore_as = ignore_as

    def _ids(self, results: dict, key: str) -> np.ndarray:
        ids = results.get(key)
        if ids is None:
            return np.zeros(0, dtype=np.int64)
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        bad = ids[(ids < 0) | (ids >= self.num_classes)]
        if len(bad):
            raise ValueError(
                f'MarkIgnoredLabels: {key} of {results.get("img_path")!r} '
                f'has label id {int(bad[0])} outside [0, {self.num_classes})'
                ' (num_classes does not match the dataset?)')
        return ids

    def transform(self, results: dict) -> dict:
        score = np.zeros(self.num_classes, dtype=np.float32)
        for key in self.ignore_keys:
            score[self._ids(results, key)] = self.ignore_as
        score[self._ids(results, 'gt_label')] = 1
        results['gt_score'] = score
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_classes={self.num_classes}, '
                f'ignore_keys={self.ignore_keys}, '
                f'ignore_as={self.ignore_as})')


@TRANSFORMS.register_module()
class CheckedLoadImageFromFile(LoadImageFromFile):
    """``LoadImageFromFile`` with clear errors for missing/corrupt images.

    A missing file raises ``FileNotFoundError`` naming the image path and
    the sample index, with a hint (``data_root``/``data_prefix``,
    ``check_images=True`` to list every missing image at load time). A file
    that does not decode raises :class:`CorruptImageError`, or with
    ``on_corrupt='skip'`` is skipped (the transform returns None, and
    MMEngine's dataset draws another sample in training) and counted in a
    warning. Skipping works in training only: at test time MMEngine refuses
    a None sample, so drop corrupt test images at load time with
    ``check_images='decode', on_corrupt='skip'``.

    Args:
        on_corrupt (str): ``'error'`` (default) or ``'skip'``.
        **kwargs: Arguments of MMCV's ``LoadImageFromFile``.
    """

    def __init__(self, on_corrupt: str = 'error', **kwargs):
        if on_corrupt not in ON_CORRUPT_MODES:
            raise ValueError(f'CheckedLoadImageFromFile: on_corrupt must be '
                             f'one of {ON_CORRUPT_MODES}, got {on_corrupt!r}')
        if kwargs.get('ignore_empty'):
            raise ValueError('CheckedLoadImageFromFile: use on_corrupt='
                             "'skip' instead of ignore_empty")
        super().__init__(**kwargs)
        self.on_corrupt = on_corrupt
        self.num_skipped = 0

    @staticmethod
    def _is_local(path: str) -> bool:
        return '://' not in str(path)

    def transform(self, results: dict) -> Optional[dict]:
        path = results['img_path']
        where = f'{path!r} (sample {results.get("sample_idx", "?")})'
        if self._is_local(path) and self.backend_args is None and \
                not osp.isfile(path):
            raise FileNotFoundError(
                f'image file not found: {where}. Check data_root / '
                'data_prefix, or build the dataset with check_images=True '
                'to list every missing image when it loads.')
        try:
            out = super().transform(results)
            if out is None or out.get('img') is None:
                raise ValueError('decoded to nothing')
            return out
        except FileNotFoundError:
            raise
        except Exception as e:  # cv2/PIL raise many types for broken files
            if self.on_corrupt == 'skip':
                self.num_skipped += 1
                warnings.warn(
                    f'skipped corrupt image {where} ({type(e).__name__}: '
                    f'{e}); {self.num_skipped} skipped so far in this '
                    'process', stacklevel=2)
                return None
            raise CorruptImageError(
                f'cannot decode image {where}: {type(e).__name__}: {e}') \
                from e

    def __repr__(self) -> str:
        name = type(self).__name__
        return super().__repr__().replace(
            f'{name}(', f"{name}(on_corrupt='{self.on_corrupt}', ", 1)


@TRANSFORMS.register_module()
class RelativeCutout(Cutout):
    """Cutout whose square hole side is ``factor`` times the image side.

    The paper (and ASL's ``CutoutPIL``, which it follows) cuts a hole of
    ``factor * H`` by ``factor * W`` pixels at a random centre (clipped at
    the border), with probability ``prob``: factor 0.4, p 0.5 in the authors'
    code. MMPretrain's ``Cutout`` takes an absolute size; this subclass
    computes it from each image, so one pipeline serves 224, 448 and 576 px.

    Args:
        factor (float): Hole side as a fraction of the image side, in
            ``(0, 1]``. Defaults to 0.4.
        prob (float): Probability of applying it. Defaults to 0.5.
        pad_val (int | Sequence[int]): Fill value. Defaults to 128.
    """

    def __init__(self, factor: float = 0.4, prob: float = 0.5,
                 pad_val=128, **kwargs):
        if not 0 < factor <= 1:
            raise ValueError(f'RelativeCutout: factor must be in (0, 1], got '
                             f'{factor!r}')
        super().__init__(shape=1, pad_val=pad_val, prob=prob, **kwargs)
        self.factor = factor

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        self.shape = (max(1, int(self.factor * h + 0.5)),
                      max(1, int(self.factor * w + 0.5)))
        return super().transform(results)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(factor={self.factor}, '
                f'pad_val={self.pad_val}, prob={self.prob})')
