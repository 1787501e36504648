# TResNet-L, GAT label re-weighting (GAP+GMP of w*f) + cosine classifier + AAM, coco
# 448 px, the paper's recipe (Table 2 "GAT re-weighting (ours) TResNet-L").
_base_ = [
    '../_base_/datasets/coco_448.py',
    '../_base_/models/gat_reweight_tresnet-l_cosine.py',
    '../_base_/schedules/paper_recipe.py',
]

model = dict(
    neck=dict(num_classes=80, graph=dict(dataset={{_base_.train_dataloader.dataset}})),
    head=dict(num_classes=80, loss={{_base_.aam_coco}}))
optim_wrapper = dict(optimizer=dict(lr=0.007))
param_scheduler = dict(eta_max=0.007)
# the paper's figures for this row (mAP; GFLOPs with the paper's counter)
paper_reference = dict(table='Table 2', mAP=89.95, gflops=35.2, shape=448)
