# ML-Decoder with the cosine group projection + AAM (the paper's main row,
# configs/effv2s/effv2s_mld-aam_2xb42_coco-448px.py)
# on real photos with the paper's recipe (SAM over SGD, no bias decay, OneCycle, EMA, early
# stopping): only the backbone (EfficientNet-Lite0, offline ImageNet weights), the size (224 px,
# batch 16) and the data (coco319) differ from the paper's row. benchmarks/coco_cv.py
# cross-validates it; configs/coco319/README.md has the figures.
_base_ = [
    '../_base_/datasets/coco319_224.py',
    '../_base_/models/backbones/lite0_frozen-b0-5.py',
    '../_base_/models/heads/ml_decoder_cosine.py',
    '../_base_/models/losses/aam_coco.py',
    '../_base_/schedules/paper_recipe.py',
]

max_epochs = 12

model = dict(
    backbone={{_base_.backbone}},
    head=dict(num_classes={{_base_.num_classes}}, loss={{_base_.loss}}))
optim_wrapper = dict(optimizer=dict(lr=0.007))  # the paper's
param_scheduler = dict(total_steps=max_epochs)
train_cfg = dict(max_epochs=max_epochs)
