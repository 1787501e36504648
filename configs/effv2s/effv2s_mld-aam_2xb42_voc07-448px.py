# EfficientNetV2-s, ML-Decoder head with cosine group projection + AAM, voc07 448 px, the
# paper's recipe (SAM, no bias decay, EMA, OneCycle, LR estimation, early stopping).
_base_ = [
    '../_base_/datasets/voc07_448.py',
    '../_base_/models/effv2s_mld_aam.py',
    '../_base_/schedules/paper_recipe.py',
]

model = dict(
    head=dict(
        num_classes=20,
        loss={{_base_.aam_voc}}))
optim_wrapper = dict(optimizer=dict(lr=0.005))
param_scheduler = dict(eta_max=0.005)
# the paper's figures for this row (mAP; GFLOPs with the paper's counter)
paper_reference = dict(table='Table 3', mAP=95.86, gflops=12.0, shape=448)
