# EfficientNetV2-s, ML-Decoder head, ASL (gamma- 4, lr 1e-4), coco 448 px, the paper's recipe
# (SAM, no bias decay, EMA, OneCycle, LR estimation, early stopping).
_base_ = [
    '../_base_/datasets/coco_448.py',
    '../_base_/models/backbones/effv2s.py',
    '../_base_/models/heads/ml_decoder.py',
    '../_base_/models/losses/asl_paper.py',
    '../_base_/schedules/paper_recipe_asl.py',
]

model = dict(
    backbone={{_base_.backbone}},
    head=dict(num_classes={{_base_.num_classes}}, loss={{_base_.loss}}))
# the paper's figures for this row (mAP; GFLOPs with the paper's counter)
paper_reference = dict(table='Table 2', mAP=88.25, gflops=12.28, shape=448)
