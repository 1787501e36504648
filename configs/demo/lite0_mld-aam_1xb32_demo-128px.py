# Demo with the ML-Decoder head (cosine group projection) and the AAM loss,
# on the last feature map of the backbone (no pooling neck).
_base_ = ['./lite0_linear-asl_1xb32_demo-128px.py', '../_base_/models/aam_settings.py']

model = dict(
    neck=None,
    head=dict(
        _delete_=True,
        type='MLDecoderHead',
        num_classes={{_base_.num_classes}},
        in_channels=1280,
        normalized=True,
        act_cfg=dict(type='LeakyReLU', negative_slope=0.2),
        loss={{_base_.aam_demo}}))
