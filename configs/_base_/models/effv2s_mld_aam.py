# EfficientNetV2-s (MMPretrain, last stage 1280 channels) + ML-Decoder with
# the cosine group projection + AAM (the paper's COCO setting; swap the loss
# for another dataset's from aam_settings.py and set num_classes).
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
    head=dict(
        type='MLDecoderHead',
        num_classes=80,
        in_channels=1280,
        normalized=True,
        act_cfg=dict(type='LeakyReLU', negative_slope=0.2),  # the authors' AAM variant
        loss={{_base_.aam_coco}}),
)
