from .base_multilabel import MultiLabelBase, label_matrix
from .coco import CocoMultiLabel
from .custom import CheckedMultiLabelDataset, CsvMultiLabelDataset
from .demo_scenes import DEMO_CLASSES, DemoScenes, render_scene
from .image_cache import CachedTransforms, cache_pipeline
from .loading import build_label_dataset, dataset_from_annotation_file, dataset_label_matrix
from .nus_wide import NUS_WIDE_CATEGORIES, NusWideMultiLabel
from .openimages import OpenImagesMultiLabel
from .splits import kfold_indices
from .transforms import CheckedLoadImageFromFile, MarkIgnoredLabels, RelativeCutout
from .validation import CorruptImageError, DatasetFormatError
from .vg500 import VG500MultiLabel

__all__ = [
    'DEMO_CLASSES', 'DemoScenes', 'render_scene', 'MultiLabelBase', 'label_matrix',
    'CocoMultiLabel', 'CheckedMultiLabelDataset', 'CsvMultiLabelDataset',
    'NUS_WIDE_CATEGORIES', 'NusWideMultiLabel', 'OpenImagesMultiLabel', 'VG500MultiLabel',
    'CheckedLoadImageFromFile', 'MarkIgnoredLabels', 'RelativeCutout', 'CachedTransforms',
    'cache_pipeline',
    'CorruptImageError', 'DatasetFormatError', 'kfold_indices', 'build_label_dataset',
    'dataset_from_annotation_file', 'dataset_label_matrix'
]
