# EfficientNetV2-s, ML-Decoder (cosine) + AAM, nus-wide at 224 px, the paper's recipe: the low-
# resolution ablation of Table 9 (label noise from small objects lost at 224 px).
_base_ = [
    '../_base_/datasets/nus_wide_224.py',
    '../_base_/models/effv2s_mld_aam.py',
    '../_base_/schedules/paper_recipe.py',
]

model = dict(
    head=dict(num_classes=81, loss={{_base_.aam_nus_wide}}))
optim_wrapper = dict(optimizer=dict(lr=0.009))
param_scheduler = dict(eta_max=0.009)
# the paper's mAP for this row (no GFLOPs given at 224 px)
paper_ablation = dict(table='Table 9', mAP=66.74, shape=224)
