# EfficientNetV2-s (ImageNet weights) + ML-Decoder (plain group FC) + ASL with gamma+ 0,
# gamma- 7: the model the paper pre-trains on OpenImages (Sec. 4.3), summed over the batch
# as ASL's authors did (BatchSumLoss, aam_settings.py). 601 classes: the boxable subset.
_base_ = ['./effv2s_backbone.py']
model = dict(
    type='ImageClassifier',
    backbone={{_base_.effv2s_backbone}},
    head=dict(
        type='MLDecoderHead',
        num_classes=601,
        in_channels=1280,
        loss=dict(type='BatchSumLoss', loss=dict(
            type='AsymmetricLoss', gamma_pos=0.0, gamma_neg=7.0, clip=0.05))),
)
