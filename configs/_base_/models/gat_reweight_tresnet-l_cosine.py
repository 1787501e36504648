# TResNet-L + GAT re-weighting neck + cosine head with AAM (Prokofiev & Sovrasov 2022,
# "GAT re-weighting (ours) TResNet-L" rows of Tables 2-4): gat_reweight_effv2s_cosine.py
# on the 2048 channels of TResNet-L. The final config completes `graph` with its training
# dataset and sets num_classes and the dataset's AAM setting (see that file).
_base_ = ['./aam_settings.py', './tresnet-l_backbone.py']
model = dict(
    type='ImageClassifier',
    backbone={{_base_.tresnet_l_backbone}},
    neck=dict(
        type='GATReweightNeck',
        in_channels=2048,
        graph=dict(word_vectors='glove-6b-50d', t=0.4, p=0.25),
        layer_type='gat',
        num_layers=2,
        hidden_channels=1024,
        num_heads=4,
        out_type='pooled'),  # GAP(w*f) + GMP(w*f) -> cosine classifiers
    head=dict(
        type='MultiLabelCosineClsHead',
        num_classes=80,
        in_channels=2048,
        loss={{_base_.aam_coco}}),
)
