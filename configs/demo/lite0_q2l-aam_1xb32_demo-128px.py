# Demo with the Query2Label head (cosine group-wise output) and the AAM loss on
# the last feature map of the backbone (no pooling neck); same backbone, data
# and budget as the stock-head demo. The transformer is narrower than the
# paper's (D = 512, FFN 1024) so that CPU training stays quick; at 128 px the
# feature map is 4 x 4.
_base_ = ['./lite0_linear-asl_1xb32_demo-128px.py', '../_base_/models/aam_settings.py']

model = dict(
    neck=None,
    head=dict(
        _delete_=True,
        type='Query2LabelHead',
        num_classes={{_base_.num_classes}},
        in_channels=1280,
        embed_dims=512,
        num_heads=4,
        ffn_dims=1024,
        num_encoder_layers=1,
        num_decoder_layers=2,
        dropout=0.1,
        normalized=True,
        loss={{_base_.aam_coco}}))
