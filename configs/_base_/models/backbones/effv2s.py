# EfficientNetV2-s from MMPretrain (last stage 1280 channels), ImageNet-21k pre-trained and
# fine-tuned on ImageNet-1k: the backbone of the paper's EfficientNetV2-s rows. The weights
# come by URL; offline, point `checkpoint` at a local copy, or set init_cfg=None for smoke runs.
# A backbone base defines `backbone` only; the config that lists it with a head base
# (../heads/) sets `model = dict(backbone={{_base_.backbone}}, ...)`.
backbone = dict(
    type='EfficientNetV2',
    arch='s',
    init_cfg=dict(
        type='Pretrained',
        checkpoint='https://download.openmmlab.com/mmclassification/v0/'
        'efficientnetv2/efficientnetv2-s_in21k-pre-3rdparty_in1k_'
        '20221220-7a7c8475.pth',
        prefix='backbone'))
