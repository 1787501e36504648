# EfficientNetV2-s, GAT label re-weighting (GAP+GMP of w*f) + cosine classifier + AAM, nus-wide at
# 224 px, the paper's recipe: the low-resolution ablation of Table 9 (label noise from small
# objects lost at 224 px).
_base_ = [
    '../_base_/datasets/nus_wide_224.py',
    '../_base_/models/gat_reweight_effv2s_cosine.py',
    '../_base_/schedules/paper_recipe.py',
]

model = dict(
    neck=dict(num_classes=81, graph=dict(dataset={{_base_.train_dataloader.dataset}})),
    head=dict(num_classes=81, loss={{_base_.aam_nus_wide}}))
optim_wrapper = dict(optimizer=dict(lr=0.009))
param_scheduler = dict(eta_max=0.009)
# the paper's mAP for this row (no GFLOPs given at 224 px)
paper_ablation = dict(table='Table 9', mAP=65.87, shape=224)
