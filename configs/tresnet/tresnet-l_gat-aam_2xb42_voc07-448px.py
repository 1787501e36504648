# TResNet-L, GAT label re-weighting (GAP+GMP of w*f) + cosine classifier + AAM, voc07
# 448 px, the paper's recipe (Table 3 "GAT re-weighting (ours) TResNet-L").
_base_ = [
    '../_base_/datasets/voc07_448.py',
    '../_base_/models/gat_reweight_tresnet-l_cosine.py',
    '../_base_/schedules/paper_recipe.py',
]

model = dict(
    neck=dict(num_classes=20, graph=dict(dataset={{_base_.train_dataloader.dataset}})),
    head=dict(num_classes=20, loss={{_base_.aam_voc}}))
optim_wrapper = dict(optimizer=dict(lr=0.005))
param_scheduler = dict(eta_max=0.005)
# the paper's figures for this row (mAP; GFLOPs with the paper's counter)
paper_reference = dict(table='Table 3', mAP=96.67, gflops=35.2, shape=448)
