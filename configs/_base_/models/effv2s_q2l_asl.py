# EfficientNetV2-s (MMPretrain, last stage 1280 channels) + Query2Label head
# (Liu et al. 2021, https://arxiv.org/abs/2107.10834) with ASL: the paper's Q2L
# peer (Prokofiev & Sovrasov 2022, Tables 2-4 "Q2L EfficientNet-V2-s" rows; COCO's
# 80 classes here, the final config sets num_classes).
# Head as the paper's authors built it for this backbone (their FLOPs match it,
# docs/flops_peer_heads.md): width = FFN = the backbone's 1280 channels, 4 heads,
# 1 encoder + 2 decoder layers without query self-attention.
# For AAM: head normalized=True, loss `aam_*` of aam_settings.py (inherited here,
# `_base_.aam_*` in the final config) and that dataset's LR.
_base_ = ['./aam_settings.py', './effv2s_backbone.py']
model = dict(
    type='ImageClassifier',
    backbone={{_base_.effv2s_backbone}},
    neck=None,  # the head reads the last feature map
    head=dict(
        type='Query2LabelHead',
        num_classes=80,
        in_channels=1280,
        embed_dims=1280,
        num_heads=4,
        ffn_dims=1280,
        num_encoder_layers=1,
        num_decoder_layers=2,
        dropout=0.1,
        # the paper's ASL setting (Sec. 4.4): gamma- 4, gamma+ 0 (ASL's clip 0.05);
        # its peak LR 1e-4 is set by the final config
        loss={{_base_.asl_paper}}),
)
