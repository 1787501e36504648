# EfficientNetV2-s, ML-Decoder head with cosine group projection + AAM, nus-wide 448 px, the
# paper's recipe (SAM, no bias decay, EMA, OneCycle, LR estimation, early stopping).
_base_ = [
    '../_base_/datasets/nus_wide_448.py',
    '../_base_/models/effv2s_mld_aam.py',
    '../_base_/schedules/paper_recipe.py',
]

model = dict(
    head=dict(
        num_classes=81,
        loss={{_base_.aam_nus_wide}}))
optim_wrapper = dict(optimizer=dict(lr=0.009))
param_scheduler = dict(eta_max=0.009)
# the paper's figures for this row (mAP; GFLOPs with the paper's counter)
paper_reference = dict(table='Table 4', mAP=67.6, gflops=12.28, shape=448)
