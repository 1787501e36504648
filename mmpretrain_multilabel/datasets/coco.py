"""MS-COCO as a multilabel dataset, read from the instances JSON.

An image's labels are the categories of its object annotations. This is the
protocol of ML-GCN, ASL, Query2Label, ML-Decoder and the paper (COCO-2014:
82,081 / 40,137 images; COCO-2017: 117,266 / 4,952 once images without
annotations are dropped). Class ids follow the category id order (1..90 with
gaps -> 0..79).

Loading is vectorised: the annotation fields that matter (``image_id``,
``category_id``, ``iscrowd``) are extracted straight from the file's bytes
into NumPy arrays (no Python object per annotation), then grouped with NumPy.
The scan is used only when its structural checks pass (one of each key per
annotation); otherwise the file is parsed in full, with the same result.
"""
import gc
import re
from contextlib import contextmanager
from operator import itemgetter
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmpretrain.registry import DATASETS

from .base_multilabel import MultiLabelBase
from .validation import (
    DatasetFormatError,
    check_duplicates,
    check_file,
    format_error,
    orjson,
    read_json,
)

CROWD_MODES = ('include', 'exclude', 'ignore')


@contextmanager
def _no_gc():
    """Pause the cyclic GC: parsing creates millions of containers and the
    collector would rescan them all repeatedly (about 2x slower)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_ANNS_START = re.compile(rb'"annotations"\s*:\s*\[')
# end of the annotations array: the next top-level key or the end of file
_ANNS_END = re.compile(
    rb'\]\s*,\s*"(?:images|categories|info|licenses|type)"\s*:|\]\s*\}\s*$')
_INT_KEYS = {
    k: re.compile(b'"' + k.encode() + rb'"\s*:\s*(-?\d+)\s*[,}]')
    for k in ('image_id', 'category_id', 'iscrowd')
}


def _annotations_end(raw: bytes, start: int) -> Optional[int]:
    """Offset of the ``]`` closing the annotations array."""
    # Official files end with "categories": find it from the end (fast).
    pos = raw.rfind(b'"categories"')
    if pos > start:
        head = raw[max(start, pos - 64):pos].rstrip()
        if head.endswith(b','):
            head = head[:-1].rstrip()
            if head.endswith(b']'):
                return max(start, pos - 64) + len(head) - 1
    end = _ANNS_END.search(raw, start)
    return None if end is None else end.start()


def _ints(matches: List[bytes]) -> np.ndarray:
    if not matches:
        return np.zeros(0, dtype=np.int64)
    return np.fromstring(b' '.join(matches), dtype=np.int64, sep=' ')


def scan_instances(raw: bytes, with_crowd: bool = True
                   ) -> Optional[Tuple[dict, dict]]:
    """Fast path: the file without its annotations, plus annotation arrays.

    Returns ``(coco, arrays)``: ``coco`` is the parsed JSON with an empty
    ``annotations`` list; ``arrays`` maps ``image_id``, ``category_id`` and
    (``with_crowd``) ``iscrowd`` to int64 arrays in annotation order. Returns
    None when the layout is unusual, and the caller parses the file in full.
    The arrays align with the annotations because every annotation has
    exactly one of each key: the number of integer matches must equal the
    number of ``"id"`` keys (one per annotation).
    """
    start = _ANNS_START.search(raw)
    if start is None:
        return None
    end = _annotations_end(raw, start.end())
    if end is None:
        return None
    try:
        rest = raw[:start.end()] + raw[end:]
        coco = orjson.loads(rest) if orjson is not None else \
            __import__('json').loads(rest)
    except ValueError:
        return None
    if not isinstance(coco, dict) or coco.get('annotations') != []:
        return None
    body = raw[start.end():end]
    n = body.count(b'"id"')
    if n == 0:
        return None  # empty, or annotations without ids: full parse decides
    keys = ('image_id', 'category_id') + (('iscrowd', ) if with_crowd else ())
    arrays = {}
    for key in keys:
        arrays[key] = _ints(_INT_KEYS[key].findall(body))
        if len(arrays[key]) != n:
            if key == 'iscrowd' and len(arrays[key]) == 0:
                arrays[key] = np.zeros(n, dtype=np.int64)
            else:
                return None
    if not with_crowd:
        arrays['iscrowd'] = np.zeros(n, dtype=np.int64)
    return coco, arrays


def _column(records: list, key: str, file: str, section: str,
            default=None) -> np.ndarray:
    """``records[i][key]`` for all i as an int64 array, with located errors."""
    try:
        if default is None:
            values = list(map(itemgetter(key), records))
        else:
            values = [r.get(key, default) for r in records]
        return np.array(values, dtype=np.int64)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
        for i, r in enumerate(records):
            if not isinstance(r, dict):
                raise format_error(file, f'{section}[{i}] is not an object') \
                    from None
            v = r.get(key, default)
            if v is None:
                raise format_error(file, f'{section}[{i}] has no {key!r}',
                                   field=f'{section}[{i}].{key}') from None
            if isinstance(v, bool) or not isinstance(v, int):
                raise format_error(file, f'{key} must be an integer, got '
                                   f'{v!r}', field=f'{section}[{i}].{key}') \
                    from None
        raise


def _lookup(sorted_keys: np.ndarray, order: np.ndarray, values: np.ndarray,
            file: str, section: str, key: str) -> np.ndarray:
    """Positions of ``values`` in a key table; unknown values are errors."""
    pos = np.searchsorted(sorted_keys, values)
    pos_clipped = np.minimum(pos, len(sorted_keys) - 1)
    bad = np.flatnonzero(sorted_keys[pos_clipped] != values) \
        if len(sorted_keys) else np.arange(len(values))
    if len(bad):
        i = int(bad[0])
        raise format_error(
            file, f'{key} {int(values[i])} is not defined '
            f'({len(bad)} annotation(s) affected)',
            field=f'{section}[{i}].{key}')
    return order[pos_clipped]


def group_labels(img_idx: np.ndarray, cls_idx: np.ndarray, num_images: int,
                 num_classes: int) -> List[List[int]]:
    """Sorted unique class ids per image from (image, class) index pairs."""
    keys = np.unique(img_idx.astype(np.int64) * num_classes + cls_idx)
    owners = keys // num_classes
    labels = (keys % num_classes).tolist()
    bounds = np.searchsorted(owners, np.arange(num_images + 1)).tolist()
    return [labels[bounds[i]:bounds[i + 1]] for i in range(num_images)]


@DATASETS.register_module()
class CocoMultiLabel(MultiLabelBase):
    """MS-COCO instances annotations as a multilabel dataset.

    Directory layout (COCO 2017; 2014 is alike with ``train2014``/``val2014``
    and ``instances_{train,val}2014.json``)::

        data/coco
        ├── annotations
        │   ├── instances_train2017.json
        │   └── instances_val2017.json
        ├── train2017/*.jpg
        └── val2017/*.jpg

    Args:
        ann_file (str): Instances JSON, relative to ``data_root`` unless
            absolute.
        data_root (str): Root of ``ann_file`` and ``data_prefix``.
        data_prefix (str | dict): Image folder (``'train2017'`` or
            ``dict(img_path='train2017')``), relative to ``data_root``.
        keep_empty (bool): Keep images without annotations as all-negative
            samples. Defaults to False (dropped, as in the papers).
        crowd (str): How ``iscrowd=1`` annotations count:
            ``'include'`` (default; like ASL, Q2L and ML-Decoder, which read
            all annotations), ``'exclude'`` (ignored entirely) or
            ``'ignore'`` (a class present only through crowd annotations is
            stored in ``gt_label_ignore``: with
            :class:`~.transforms.MarkIgnoredLabels` it gets target -1).
        metainfo (dict, optional): ``classes`` may select and order a subset
            of the JSON's category names; by default all categories in id
            order.
        fast_scan (bool): Read the annotations with the byte scan (falls
            back to a full JSON parse by itself when the file's layout is
            unusual). False always parses in full. Defaults to True.
        **kwargs: Other arguments of :class:`MultiLabelBase`
            (``check_images``, ``on_corrupt``) and of MMPretrain's
            ``BaseDataset`` (``pipeline``, ``indices``, ``test_mode``, ...).

    Each sample holds ``img_path``, ``img_id`` (the COCO image id),
    ``gt_label`` (sorted class ids) and, with ``crowd='ignore'``,
    ``gt_label_ignore``.
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix='',
                 keep_empty: bool = False,
                 crowd: str = 'include',
                 metainfo: Optional[dict] = None,
                 fast_scan: bool = True,
                 **kwargs):
        if crowd not in CROWD_MODES:
            raise ValueError(f'CocoMultiLabel: crowd must be one of '
                             f'{CROWD_MODES}, got {crowd!r}')
        if not ann_file:
            raise ValueError('CocoMultiLabel: ann_file is required')
        self.keep_empty = keep_empty
        self.crowd = crowd
        self.fast_scan = fast_scan
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            metainfo=metainfo,
            **kwargs)

    def _select_classes(self, names: Sequence[str]) -> np.ndarray:
        """Map the JSON's categories (id order) to the wanted class ids."""
        wanted = self._metainfo.get('classes')
        if wanted is None:
            self._metainfo['classes'] = tuple(names)
            return np.arange(len(names))
        index = {n: i for i, n in enumerate(wanted)}
        missing = [n for n in wanted if n not in set(names)]
        if missing:
            raise format_error(
                self.ann_file, f'classes {missing[:5]} are not categories of '
                'this file', field='categories')
        # categories not selected map to -1 and their annotations are dropped
        return np.array([index.get(n, -1) for n in names], dtype=np.int64)

    def _read(self, file: str) -> Tuple[dict, np.ndarray, np.ndarray,
                                        np.ndarray]:
        """Parsed file (annotations emptied) and the annotation arrays."""
        if self.fast_scan:
            check_file(file, 'COCO instances file')
            with open(file, 'rb') as f:
                raw = f.read()
            # crowd flags matter only when crowd annotations are treated apart
            scanned = scan_instances(raw, with_crowd=self.crowd != 'include')
            del raw
            if scanned is not None:
                coco, arrays = scanned
                self._check_sections(coco, file)
                return (coco, arrays['image_id'], arrays['category_id'],
                        arrays['iscrowd'])
        coco = read_json(file, 'COCO instances file')
        self._check_sections(coco, file)
        anns = coco['annotations']
        if anns:
            a_img = _column(anns, 'image_id', file, 'annotations')
            a_cat = _column(anns, 'category_id', file, 'annotations')
            try:
                a_crowd = _column(anns, 'iscrowd', file, 'annotations')
            except DatasetFormatError:
                a_crowd = _column(anns, 'iscrowd', file, 'annotations',
                                  default=0)
        else:
            a_img = a_cat = a_crowd = np.zeros(0, dtype=np.int64)
        coco['annotations'] = []
        return coco, a_img, a_cat, a_crowd

    @staticmethod
    def _check_sections(coco, file: str) -> None:
        if not isinstance(coco, dict):
            raise format_error(file, 'expected a JSON object with '
                               "'images', 'annotations', 'categories'")
        for key in ('images', 'annotations', 'categories'):
            if not isinstance(coco.get(key), list):
                raise format_error(file, f'missing or invalid {key!r} '
                                   '(a list is required)', field=key)
        if not coco['categories']:
            raise format_error(file, 'no categories', field='categories')
        if not coco['images']:
            raise format_error(file, 'no images', field='images')

    def load_data_list(self) -> List[dict]:
        file = self.ann_file
        with _no_gc():
            coco, a_img, a_cat, a_crowd = self._read(file)
            cats, images = coco['categories'], coco['images']
            del coco

            # categories, in id order
            cat_ids = _column(cats, 'id', file, 'categories')
            check_duplicates([str(c) for c in cat_ids.tolist()], file,
                             what='category id')
            cat_order = np.argsort(cat_ids, kind='stable')
            try:
                names = [str(cats[i]['name']) for i in cat_order]
            except KeyError:
                i = next(i for i, c in enumerate(cats) if 'name' not in c)
                raise format_error(file, 'category without a name',
                                   field=f'categories[{i}].name') from None
            class_of_cat = self._select_classes(names)
            num_classes = len(self._metainfo['classes'])

            # images
            img_ids = _column(images, 'id', file, 'images')
            try:
                file_names = list(map(itemgetter('file_name'), images))
            except (KeyError, TypeError):
                i = next(i for i, im in enumerate(images)
                         if not isinstance(im, dict) or 'file_name' not in im)
                raise format_error(file, 'image without a file_name',
                                   field=f'images[{i}].file_name') from None
            del images
            img_order = np.argsort(img_ids, kind='stable')
            sorted_img_ids = img_ids[img_order]
            dup = np.flatnonzero(np.diff(sorted_img_ids) == 0)
            if len(dup):
                i = int(img_order[dup[0] + 1])
                raise format_error(file, f'duplicate image id '
                                   f'{int(img_ids[i])}',
                                   field=f'images[{i}].id')
            if len(set(file_names)) != len(file_names):
                check_duplicates(file_names, file, what='image file_name')

            # annotations -> (image index, class id) pairs
            n_img = len(file_names)
            a_img = _lookup(sorted_img_ids, img_order, a_img, file,
                            'annotations', 'image_id')
            a_cls = class_of_cat[_lookup(cat_ids[cat_order],
                                         np.arange(len(cat_ids)), a_cat,
                                         file, 'annotations', 'category_id')]
            crowd = a_crowd != 0
            keep = a_cls >= 0  # False: a category left out of `classes`
            pos = keep if self.crowd == 'include' else keep & ~crowd
            # "annotated": at least one annotation that counts
            annotated = np.zeros(n_img, dtype=bool)
            annotated[a_img[pos if self.crowd == 'exclude' else keep]] = True
            labels = group_labels(a_img[pos], a_cls[pos], n_img, num_classes)
            ignore = None
            if self.crowd == 'ignore':
                ignore = group_labels(a_img[keep & crowd], a_cls[keep & crowd],
                                      n_img, num_classes)

            prefix = self.img_prefix
            prefix = prefix.rstrip('/') + '/' if prefix else ''
            img_ids_list = img_ids.tolist()
            data_list = []
            for i in (range(n_img) if self.keep_empty else
                      np.flatnonzero(annotated).tolist()):
                info = dict(
                    img_path=prefix + file_names[i],
                    img_id=img_ids_list[i],
                    gt_label=labels[i])
                if ignore is not None:
                    positives = set(labels[i])
                    info['gt_label_ignore'] = [
                        c for c in ignore[i] if c not in positives]
                data_list.append(info)
        if not data_list:
            raise format_error(file, 'no annotated images (use '
                               'keep_empty=True to keep unannotated ones)')
        return data_list

    def extra_repr(self) -> List[str]:
        return [
            f'Annotation file: \t{self.ann_file}',
            f'Prefix of images: \t{self.img_prefix}',
            f'Crowd annotations: \t{self.crowd}',
            f'Keep unannotated: \t{self.keep_empty}',
        ]
