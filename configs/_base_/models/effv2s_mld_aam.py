# EfficientNetV2-s (MMPretrain, last stage 1280 channels) + ML-Decoder with
# the cosine group projection + AAM (the paper's COCO setting; swap the loss
# for another dataset's from aam_settings.py and set num_classes).
_base_ = ['./aam_settings.py', './effv2s_backbone.py']
model = dict(
    type='ImageClassifier',
    backbone={{_base_.effv2s_backbone}},
    head=dict(
        type='MLDecoderHead',
        num_classes=80,
        in_channels=1280,
        normalized=True,
        act_cfg=dict(type='LeakyReLU', negative_slope=0.2),  # the authors' AAM variant
        loss={{_base_.aam_coco}}),
)
