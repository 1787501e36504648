# Query2Label (Liu et al. 2021, https://arxiv.org/abs/2107.10834) on
# EfficientNetV2-s, MS-COCO 2017, 448 px, ASL, the paper's recipe
# (Prokofiev & Sovrasov 2022, Table 2 "Q2L EfficientNet-V2-s" row).
# Head as the paper's authors built it for this backbone (their FLOPs match it,
# docs/flops_peer_heads.md): width = FFN = the backbone's 1280 channels, 4 heads,
# 1 encoder + 2 decoder layers without query self-attention.
# For AAM: head normalized=True, loss `aam_*` of ../_base_/models/aam_settings.py
# (inherited here as `_base_.aam_*`) and that dataset's LR.
_base_ = [
    '../_base_/datasets/coco_448.py',
    '../_base_/models/effv2s_cosine_aam.py',
    '../_base_/schedules/paper_recipe.py',
]

custom_imports = dict(imports=['mmpretrain_multilabel'], allow_failed_imports=False)

model = dict(
    neck=None,  # the head reads the last feature map
    head=dict(
        _delete_=True,
        type='Query2LabelHead',
        num_classes=80,
        in_channels=1280,
        embed_dims=1280,
        num_heads=4,
        ffn_dims=1280,
        num_encoder_layers=1,
        num_decoder_layers=2,
        dropout=0.1,
        loss=dict(type='AsymmetricLoss', gamma_pos=0.0, gamma_neg=4.0, clip=0.05)))
# the paper's ASL setting (Sec. 4.4): gamma- 4, gamma+ 0 (ASL's clip 0.05), peak LR 1e-4
optim_wrapper = dict(optimizer=dict(lr=0.0001))
param_scheduler = dict(eta_max=0.0001)
# the paper's figures for this row (mAP; GFLOPs with the paper's counter)
paper_reference = dict(table='Table 2', mAP=87.35, gflops=16.25, shape=448)
