"""Datasets read for their labels only (no image is opened).

Used by the label statistics (``tools/dataset_stats.py``) and the label-graph
builder (:mod:`mmpretrain_multilabel.graph.builder`): a dataset config is
built without its pipeline, an annotation file is read by the dataset class
of its format, and the labels come out as one ``(N, K)`` matrix
(:func:`~.base_multilabel.label_matrix`).
"""
import copy
import os.path as osp
from typing import Mapping, Optional, Sequence, Union

import numpy as np

from .base_multilabel import label_matrix
from .coco import CocoMultiLabel
from .custom import CheckedMultiLabelDataset, CsvMultiLabelDataset
from .validation import DatasetFormatError


def build_label_dataset(cfg: Mapping):
    """Build a dataset config with an empty pipeline (labels only).

    Args:
        cfg (Mapping): A dataset config (``type`` registered in MMPretrain's
            ``DATASETS``).

    Returns:
        The dataset.
    """
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS
    cfg = copy.deepcopy(dict(cfg))
    cfg['pipeline'] = []
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return DATASETS.build(cfg)


def dataset_from_annotation_file(path: str, classes: Optional[Union[str, Sequence[str]]] = None,
                                 data_root: str = ''):
    """The dataset of an annotation file, by its format.

    Args:
        path (str): An MMPretrain ``MultiLabelDataset`` JSON
            (``data_list``), a COCO instances JSON, or a CSV/TXT list
            (``image_path,label_a;label_b``, needs ``classes``).
        classes (str | Sequence[str], optional): Class list (file or names).
        data_root (str): ``data_root`` of the dataset.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        DatasetFormatError: A JSON of neither format, or a CSV/TXT list
            without ``classes``.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'annotation file not found: {path}')
    if path.lower().endswith('.json'):
        with open(path, 'rb') as f:
            raw = f.read()
        if b'"data_list"' in raw:
            return CheckedMultiLabelDataset(ann_file=path, classes=classes, data_root=data_root)
        if b'"annotations"' in raw and b'"categories"' in raw:
            return CocoMultiLabel(ann_file=path, data_root=data_root)
        raise DatasetFormatError(f'{path}: neither a COCO instances file nor an MMPretrain '
                                 'MultiLabelDataset file (data_list)')
    if classes is None:
        raise DatasetFormatError(f'{path}: a CSV/TXT list needs classes (a class list file '
                                 'or names)')
    return CsvMultiLabelDataset(ann_file=path, classes=classes, data_root=data_root)


def dataset_label_matrix(dataset) -> np.ndarray:
    """``(N, K)`` int8 label matrix (1 positive, 0 negative, -1 ignored) of
    any MMPretrain multilabel dataset.

    Raises:
        ValueError: The dataset has no ``metainfo['classes']``.
    """
    if hasattr(dataset, 'get_label_matrix'):
        return dataset.get_label_matrix()
    classes = dataset.metainfo.get('classes')
    if not classes:
        raise ValueError(f"{type(dataset).__name__} has no class names in its metainfo['classes']")
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    return label_matrix(infos, len(classes))
