# EfficientNetV2-s, ML-Decoder head with cosine group projection + AAM, vg500 576 px, the
# paper's recipe (SAM, no bias decay, EMA, OneCycle, LR estimation, early stopping).
_base_ = [
    '../_base_/datasets/vg500_576.py',
    '../_base_/models/backbones/effv2s.py',
    '../_base_/models/heads/ml_decoder_cosine.py',
    '../_base_/models/losses/aam_vg500.py',
    '../_base_/schedules/paper_recipe.py',
]

model = dict(
    backbone={{_base_.backbone}},
    head=dict(num_classes={{_base_.num_classes}}, loss={{_base_.loss}}))
optim_wrapper = dict(optimizer=dict(lr=0.005))
# the paper's figures for this row (mAP; GFLOPs with the paper's counter)
paper_reference = dict(table='Table 5', mAP=42.0, gflops=20.16, shape=576)
