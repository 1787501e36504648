# ML-GCN + ASL with the paper's recipe for its ASL rows (SAM over Adam 1e-4; the setting of the
# paper's ML-GCN rows, configs/mlgcn/effv2s_mlgcn-asl_2xb42_coco-448px.py) on real photos, the
# graph's classifier started as in lite0_mlgcn-aam-transfer-recipe (the transferred ImageNet
# classifier fitted to the training labels on the max-pooled features, carried through the last
# graph layer).
_base_ = [
    '../_base_/datasets/coco319_224.py',
    '../_base_/models/backbones/lite0_frozen-b0-5.py',
    '../_base_/models/heads/mlgcn.py',
    '../_base_/models/losses/asl_paper.py',
    '../_base_/schedules/paper_recipe_asl.py',
]

max_epochs = 12

model = dict(
    backbone={{_base_.backbone}},
    head=dict(num_classes={{_base_.num_classes}},
              graph=dict(dataset={{_base_.train_dataloader.dataset}}), loss={{_base_.loss}}))
param_scheduler = dict(total_steps=max_epochs)
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = _base_.custom_hooks + [dict(type='ClassifierTransferHook', linear_probe=True)]
