# EfficientNetV2-s, GAT label re-weighting (w*f) + ML-Decoder + AAM, coco 448 px, the paper's recipe
# (SAM, no bias decay, EMA, OneCycle, LR estimation, early stopping).
_base_ = [
    '../_base_/datasets/coco_448.py',
    '../_base_/models/backbones/effv2s.py',
    '../_base_/models/heads/gat_ml_decoder_cosine.py',
    '../_base_/models/losses/aam_coco.py',
    '../_base_/schedules/paper_recipe.py',
]

model = dict(
    backbone={{_base_.backbone}},
    neck=dict(num_classes={{_base_.num_classes}},
              graph=dict(dataset={{_base_.train_dataloader.dataset}})),
    head=dict(num_classes={{_base_.num_classes}}, loss={{_base_.loss}}))
optim_wrapper = dict(optimizer=dict(lr=0.007))
# the paper's figures for this row (Table 8 gives the mAP only; GFLOPs: ML-Decoder's row)
paper_reference = dict(table='Table 8', mAP=88.7, gflops=12.28, shape=448)
