# ML-GCN (cosine classifiers from the label graph) + AAM + the paper's recipe on real photos,
# the graph's classifier started as the transferred ImageNet classifier fitted to the training
# labels on the max-pooled features ML-GCN uses (ClassifierTransferHook, linear_probe; the
# last graph layer is fitted to it: mmpretrain_multilabel/models/heads/pooled_start.py). The label
# graph is built from the training photos and GloVe 6B 50-d vectors of the class names.
_base_ = [
    '../_base_/datasets/coco319_224.py',
    '../_base_/models/backbones/lite0_frozen-b0-5.py',
    '../_base_/models/heads/mlgcn.py',
    '../_base_/models/losses/aam_coco.py',
    '../_base_/schedules/paper_recipe.py',
]

max_epochs = 12

model = dict(
    backbone={{_base_.backbone}},
    head=dict(num_classes={{_base_.num_classes}},
              graph=dict(dataset={{_base_.train_dataloader.dataset}}),
              normalized=True, loss={{_base_.loss}}))
param_scheduler = dict(total_steps=max_epochs)
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = _base_.custom_hooks + [dict(type='ClassifierTransferHook', linear_probe=True)]
