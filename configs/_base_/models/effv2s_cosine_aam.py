# EfficientNetV2-s (MMPretrain, 1280 channels) + GAP + cosine classifier + AAM
# (the paper's "AM loss" baseline; COCO setting, see aam_settings.py).
_base_ = ['./aam_settings.py']
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='EfficientNetV2',
        arch='s',
        # ImageNet-21k pre-trained, fine-tuned on ImageNet-1k (needs network;
        # set init_cfg=None for offline smoke runs)
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmclassification/v0/'
            'efficientnetv2/efficientnetv2-s_in21k-pre-3rdparty_in1k_'
            '20221220-7a7c8475.pth',
            prefix='backbone')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MultiLabelCosineClsHead',
        num_classes=80,
        in_channels=1280,
        loss={{_base_.aam_coco}}),
)
