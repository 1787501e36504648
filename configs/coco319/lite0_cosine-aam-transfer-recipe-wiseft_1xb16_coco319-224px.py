# The recommended recipe (lite0_cosine-aam-transfer-recipe: GAP + cosine classifier + AAM + the
# paper's recipe, the classifier transferred from ImageNet's and fitted to the training labels)
# whose fine-tuned weights are averaged halfway with that start when training ends (WiSE-FT,
# Wortsman et al. 2022, arXiv 2109.01903; WiSEFTHook), saved as work_dirs/<config>/wiseft.pth.
# A small-data variant: on coco319's cross-validation the recipe's training moved the fitted
# start little at 210 photos and lowered it with fewer; the average kept the start and added
# to the fine-tuned model at every size measured (docs/results.md, "Real photos: coco319").
_base_ = [
    '../_base_/datasets/coco319_224.py',
    '../_base_/models/backbones/lite0_frozen-b0-5.py',
    '../_base_/models/heads/cosine.py',
    '../_base_/models/losses/aam_coco.py',
    '../_base_/schedules/paper_recipe.py',
]

max_epochs = 12

model = dict(
    backbone={{_base_.backbone}},
    head=dict(num_classes={{_base_.num_classes}}, loss={{_base_.loss}}))
param_scheduler = dict(total_steps=max_epochs)
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = _base_.custom_hooks + [
    dict(type='ClassifierTransferHook', linear_probe=True),
    dict(type='WiSEFTHook', alpha=0.5),
]
