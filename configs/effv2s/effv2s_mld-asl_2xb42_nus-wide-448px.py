# EfficientNetV2-s, ML-Decoder head, ASL (gamma- 4, lr 1e-4), nus-wide 448 px, the paper's recipe
# (SAM, no bias decay, EMA, OneCycle, LR estimation, early stopping).
_base_ = [
    '../_base_/datasets/nus_wide_448.py',
    '../_base_/models/effv2s_mld_aam.py',
    '../_base_/schedules/paper_recipe.py',
]

model = dict(
    head=dict(
        num_classes=81,
        normalized=False,
        act_cfg=dict(_delete_=True, type='ReLU'),
        loss=dict(loss=dict(_delete_=True, type='AsymmetricLoss', gamma_pos=0.0, gamma_neg=4.0,
                                 clip=0.05))))
optim_wrapper = dict(optimizer=dict(lr=0.0001))
param_scheduler = dict(eta_max=0.0001)
# the paper's figures for this row (mAP; GFLOPs with the paper's counter)
paper_reference = dict(table='Table 4', mAP=67.07, gflops=12.28, shape=448)
