# EfficientNetV2-s, GAP + linear classifier, ASL (gamma- 4, lr 1e-4 as in ASL), nus-wide 448
# px, the paper's recipe (SAM, no bias decay, EMA, OneCycle, LR estimation, early stopping).
_base_ = [
    '../_base_/datasets/nus_wide_448.py',
    '../_base_/models/backbones/effv2s.py',
    '../_base_/models/heads/linear.py',
    '../_base_/models/losses/asl_paper.py',
    '../_base_/schedules/paper_recipe_asl.py',
]

model = dict(
    backbone={{_base_.backbone}},
    head=dict(num_classes={{_base_.num_classes}}, loss={{_base_.loss}}))
# the paper's figures for this row (mAP; GFLOPs with the paper's counter)
paper_reference = dict(table='Table 4', mAP=65.2, gflops=10.83, shape=448)
