# EfficientNetV2-s (MMPretrain, 1280 channels) + GAP + cosine classifier + AAM
# (the paper's "AM loss" baseline; COCO setting, see aam_settings.py).
_base_ = ['./aam_settings.py', './effv2s_backbone.py']
model = dict(
    type='ImageClassifier',
    backbone={{_base_.effv2s_backbone}},
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MultiLabelCosineClsHead',
        num_classes=80,
        in_channels=1280,
        loss={{_base_.aam_coco}}),
)
