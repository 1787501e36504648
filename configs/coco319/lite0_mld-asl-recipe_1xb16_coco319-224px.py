# ML-Decoder + ASL (configs/effv2s/effv2s_mld-asl_2xb42_coco-448px.py) on real photos with the
# paper's recipe for its ASL rows (SAM over Adam, no bias decay, OneCycle, EMA, early stopping):
# only the backbone (EfficientNet-Lite0, offline ImageNet weights), the size (224 px, batch 16)
# and the data (coco319) differ from the paper's row. benchmarks/coco_cv.py cross-validates
# it; configs/coco319/README.md has the figures.
_base_ = [
    '../_base_/datasets/coco319_224.py',
    '../_base_/models/backbones/lite0_frozen-b0-5.py',
    '../_base_/models/heads/ml_decoder.py',
    '../_base_/models/losses/asl_paper.py',
    '../_base_/schedules/paper_recipe_asl.py',
]

max_epochs = 12

model = dict(
    backbone={{_base_.backbone}},
    head=dict(num_classes={{_base_.num_classes}}, loss={{_base_.loss}}))
param_scheduler = dict(total_steps=max_epochs)
train_cfg = dict(max_epochs=max_epochs)
