# TResNet-L (the ML-Decoder release's network, tresnet-l_backbone.py) + ML-Decoder with the
# cosine group projection + AAM (COCO setting; the final config sets num_classes and the
# dataset's loss from aam_settings.py).
_base_ = ['./aam_settings.py', './tresnet-l_backbone.py']
model = dict(
    type='ImageClassifier',
    backbone={{_base_.tresnet_l_backbone}},
    head=dict(
        type='MLDecoderHead',
        num_classes=80,
        in_channels=2048,
        normalized=True,
        act_cfg=dict(type='LeakyReLU', negative_slope=0.2),  # the authors' AAM variant
        loss={{_base_.aam_coco}}),
)
