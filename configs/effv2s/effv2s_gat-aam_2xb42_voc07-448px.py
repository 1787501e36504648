# EfficientNetV2-s, GAT label re-weighting (GAP+GMP of w*f) + cosine classifier + AAM, voc07
# 448 px, the paper's recipe (SAM, no bias decay, EMA, OneCycle, LR estimation, early
# stopping).
_base_ = [
    '../_base_/datasets/voc07_448.py',
    '../_base_/models/backbones/effv2s.py',
    '../_base_/models/heads/gat_cosine.py',
    '../_base_/models/losses/aam_voc.py',
    '../_base_/schedules/paper_recipe.py',
]

model = dict(
    backbone={{_base_.backbone}},
    neck=dict(num_classes={{_base_.num_classes}},
              graph=dict(dataset={{_base_.train_dataloader.dataset}})),
    head=dict(num_classes={{_base_.num_classes}}, loss={{_base_.loss}}))
optim_wrapper = dict(optimizer=dict(lr=0.005))
# the paper's figures for this row (mAP; GFLOPs with the paper's counter)
paper_reference = dict(table='Table 3', mAP=96.0, gflops=10.83, shape=448)
