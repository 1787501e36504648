# EfficientNetV2-L from MMPretrain (last stage 1280 channels, as -s), ImageNet-21k pre-trained
# and fine-tuned on ImageNet-1k: the backbone of the paper's EfficientNetV2-L rows.
# Use as `backbone={{_base_.backbone}}` (see effv2s.py).
backbone = dict(
    type='EfficientNetV2',
    arch='l',
    init_cfg=dict(
        type='Pretrained',
        checkpoint='https://download.openmmlab.com/mmclassification/v0/efficient'
        'netv2/efficientnetv2-l_in21k-pre-3rdparty_in1k_20221220-63df0efd.pth',
        prefix='backbone'))
