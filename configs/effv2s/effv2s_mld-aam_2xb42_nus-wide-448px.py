# EfficientNetV2-s, ML-Decoder head with cosine group projection + AAM, nus-wide 448 px, the
# paper's recipe (SAM, no bias decay, EMA, OneCycle, LR estimation, early stopping).
_base_ = [
    '../_base_/datasets/nus_wide_448.py',
    '../_base_/models/backbones/effv2s.py',
    '../_base_/models/heads/ml_decoder_cosine.py',
    '../_base_/models/losses/aam_nus_wide.py',
    '../_base_/schedules/paper_recipe.py',
]

model = dict(
    backbone={{_base_.backbone}},
    head=dict(num_classes={{_base_.num_classes}}, loss={{_base_.loss}}))
optim_wrapper = dict(optimizer=dict(lr=0.009))
# the paper's figures for this row (mAP; GFLOPs with the paper's counter)
paper_reference = dict(table='Table 4', mAP=67.6, gflops=12.28, shape=448)
