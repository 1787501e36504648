# EfficientNetV2-s, ML-Decoder head with cosine group projection + AAM, vg500 576 px, the
# paper's recipe (SAM, no bias decay, EMA, OneCycle, LR estimation, early stopping).
_base_ = [
    '../_base_/datasets/vg500_576.py',
    '../_base_/models/effv2s_mld_aam.py',
    '../_base_/schedules/paper_recipe.py',
]

model = dict(
    head=dict(
        num_classes=500,
        loss={{_base_.aam_vg500}}))
optim_wrapper = dict(optimizer=dict(lr=0.005))
param_scheduler = dict(eta_max=0.005)
# the paper's figures for this row (mAP; GFLOPs with the paper's counter)
paper_reference = dict(table='Table 5', mAP=42.0, gflops=20.16, shape=576)
