"""Metadata stored with an exported model, and where it comes from.

Every value is JSON text (ONNX ``metadata_props`` and OpenVINO ``rt_info``
hold strings):

* ``classes``: class names, in score order;
* ``thresholds``: one threshold or one per class;
* ``input_size``: ``[H, W]`` of the input;
* ``mean``, ``std``: normalisation of the 0-255 pixels, ``(x - mean) / std``,
  per channel in ``channel_order``;
* ``channel_order``: ``"RGB"`` or ``"BGR"``.
"""
import json
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

from mmpretrain_multilabel.utils.thresholds import load_thresholds

METADATA_KEYS = ('classes', 'thresholds', 'input_size', 'mean', 'std', 'channel_order')


def encode_metadata(classes: Sequence[str], thresholds: Union[float, Sequence[float]],
                    input_size: Tuple[int, int], preprocessing: Mapping) -> Dict[str, str]:
    """Metadata of an exported model as ``{key: JSON text}``.

    Args:
        classes: Class names, in score order.
        thresholds: One threshold or one per class.
        input_size: ``(H, W)`` of the exported input.
        preprocessing: ``mean``, ``std`` and ``channel_order``, as given by
            :func:`preprocessing_metadata`.

    Returns:
        Dict[str, str]: One entry per key of :data:`METADATA_KEYS`.
    """
    values = dict(classes=list(classes), thresholds=thresholds, input_size=list(input_size),
                  mean=preprocessing['mean'], std=preprocessing['std'],
                  channel_order=preprocessing['channel_order'])
    return {key: json.dumps(values[key]) for key in METADATA_KEYS}


def decode_metadata(raw: Mapping[str, str], source: str) -> dict:
    """Decode the metadata written by :func:`encode_metadata`.

    Args:
        raw: ``{key: JSON text}`` read from the model (other keys ignored).
        source: The model's path, for error messages.

    Raises:
        ValueError: A key is missing: the model was not exported by
            ``tools/deployment/export.py``.
    """
    missing = [key for key in METADATA_KEYS if key not in raw]
    if missing:
        raise ValueError(f'{source}: no {", ".join(missing)} in the model metadata; export '
                         'the model with tools/deployment/export.py')
    return {key: json.loads(raw[key]) for key in METADATA_KEYS}


def data_preprocessor_cfg(cfg) -> dict:
    """The model's data preprocessor config, as ``mmpretrain.apis.get_model``
    picks it: ``model.data_preprocessor``, else the top-level one, with
    ``ImageClassifier``'s default type."""
    dp = dict(cfg.model.get('data_preprocessor') or cfg.get('data_preprocessor') or {})
    dp.setdefault('type', 'ClsDataPreprocessor')
    return dp


def preprocessing_metadata(cfg) -> Dict[str, Union[str, List[float]]]:
    """``mean``, ``std`` and ``channel_order`` of the config's data
    preprocessor (images are loaded as BGR; ``to_rgb`` flips them before
    normalising). Without ``mean``/``std`` the pixels are not normalised: 0
    and 1."""
    dp = data_preprocessor_cfg(cfg)
    mean, std = dp.get('mean'), dp.get('std')
    return dict(mean=[0.0] * 3 if mean is None else [float(v) for v in mean],
                std=[1.0] * 3 if std is None else [float(v) for v in std],
                channel_order='RGB' if dp.get('to_rgb') else 'BGR')


def config_thresholds(cfg) -> Union[float, Sequence[float], str]:
    """The head's ``thr`` in the config (a number, K numbers or a thresholds
    file) if it has one, else 0.5."""
    head = cfg.get('model', {}).get('head', None) or {}
    thr = head.get('thr', None) if hasattr(head, 'get') else None
    return 0.5 if thr is None else thr


def resolve_thresholds(thr_file: Optional[str], cfg,
                       classes: Sequence[str]) -> Union[float, List[float]]:
    """Thresholds from a thresholds JSON file if given, else the config's
    (:func:`config_thresholds`), checked against ``classes``."""
    return load_thresholds(config_thresholds(cfg) if thr_file is None else thr_file,
                           num_classes=len(classes), classes=classes)


def _hw(size) -> Tuple[int, int]:
    """``(H, W)`` from an int or MMCV's ``(w, h)``."""
    return (size, size) if isinstance(size, int) else (int(size[1]), int(size[0]))


def config_input_size(cfg) -> Optional[Tuple[int, int]]:
    """``(H, W)`` of the images the config's test pipeline produces.

    The last fixed-size step wins: ``crop_size`` of a crop, ``scale`` of a
    ``Resize`` without ``keep_ratio``; without one, the test dataset's
    ``img_size`` (``DemoScenes``). None if neither fixes the size.
    """
    dataset = cfg.test_dataloader.dataset
    size = None
    for step in dataset.get('pipeline', []):
        if step.get('crop_size') is not None:
            size = _hw(step['crop_size'])
        elif step.get('type') == 'Resize' and step.get('scale') is not None \
                and not step.get('keep_ratio', False):
            size = _hw(step['scale'])
    if size is None and dataset.get('img_size') is not None:
        size = _hw(dataset['img_size'])
    return size
