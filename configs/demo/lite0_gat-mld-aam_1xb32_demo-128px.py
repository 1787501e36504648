# Demo with GAT re-weighting feeding ML-Decoder (re-weighted map w * f) + AAM; the head at
# 0.3x the LR, as in lite0_mld-aam_1xb32_demo-128px.py. The neck builds the label graph from
# the training split when the model is built, by any runner (MMPretrain's stock tools too).
_base_ = [
    '../_base_/datasets/demo_scenes.py',
    '../_base_/models/backbones/lite0.py',
    '../_base_/models/heads/gat_ml_decoder_cosine.py',
    '../_base_/models/losses/aam_coco.py',
    '../_base_/schedules/demo_schedule.py',
]

model = dict(
    backbone={{_base_.backbone}},
    neck=dict(num_classes={{_base_.num_classes}},
              graph=dict(dataset={{_base_.train_dataloader.dataset}})),
    head=dict(num_classes={{_base_.num_classes}}, loss={{_base_.loss}}))
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=0.3)}))
