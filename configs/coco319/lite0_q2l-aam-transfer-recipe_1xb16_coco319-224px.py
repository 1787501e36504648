# Query2Label (cosine group-wise output) + AAM + the paper's recipe on real photos, the head
# started as the transferred ImageNet classifier fitted to the training labels
# (ClassifierTransferHook, linear_probe), carried through the head's own layers
# (mmpretrain_multilabel/models/heads/pooled_start.py). The peer head of
# Tables 2-5 of arXiv 2209.06585, with only backbone, size and data changed as in the other
# configs here.
_base_ = [
    '../_base_/datasets/coco319_224.py',
    '../_base_/models/backbones/lite0_frozen-b0-5.py',
    '../_base_/models/heads/query2label.py',
    '../_base_/models/losses/aam_coco.py',
    '../_base_/schedules/paper_recipe.py',
]

max_epochs = 12

model = dict(
    backbone={{_base_.backbone}},
    head=dict(num_classes={{_base_.num_classes}}, normalized=True, loss={{_base_.loss}}))
param_scheduler = dict(total_steps=max_epochs)
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = _base_.custom_hooks + [dict(type='ClassifierTransferHook', linear_probe=True)]
