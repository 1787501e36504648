# The paper's "AM loss" row on real photos with a random classifier: GAP + cosine classifier +
# AAM (configs/_base_/models/heads/cosine.py) with the paper's recipe (summed loss, SAM over
# SGD, no bias decay, OneCycle, EMA, early stopping). The recommended recipe is
# lite0_cosine-aam-transfer-recipe (the classifier started from ImageNet's, the paper's own
# settings): over three seeds this one only ties the stock row (docs/results.md). The backbone
# (EfficientNet-Lite0, offline ImageNet weights), the size (224 px, batch 16) and the data
# (coco319) differ from the paper's row, and three settings the paper leaves open, adapted to
# 84 photos and 72 iterations and measured (configs/coco319/README.md): s = 10 (paper: 23 for
# COCO's 117k images), the LR 0.02 (the paper tunes it per dataset; COCO 0.007), and the
# pretrained backbone at 10x the LR of the head (the cosine head divides the gradient that
# reaches the backbone by the feature norm). benchmarks/coco_cv.py cross-validates it.
_base_ = [
    '../_base_/datasets/coco319_224.py',
    '../_base_/models/backbones/lite0_frozen-b0-5.py',
    '../_base_/models/heads/cosine.py',
    '../_base_/models/losses/aam_coco_s10.py',
    '../_base_/schedules/paper_recipe.py',
]

max_epochs = 12

model = dict(
    backbone={{_base_.backbone}},
    head=dict(num_classes={{_base_.num_classes}}, loss={{_base_.loss}}))
optim_wrapper = dict(
    optimizer=dict(lr=0.02),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=10.0)}))
param_scheduler = dict(total_steps=max_epochs)
train_cfg = dict(max_epochs=max_epochs)
