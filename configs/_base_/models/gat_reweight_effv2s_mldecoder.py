# EfficientNetV2-s + GAT re-weighting neck + ML-Decoder with AAM loss
# (Prokofiev & Sovrasov 2022, Sec. 3.3: "we can pass the weighted features to
# the ML-Decoder"; Table 6 "+ GAT" row). The neck returns the re-weighted map
# w * f (out_type='map') and ML-Decoder attends over it.
#
# The final config completes `graph` with the training dataset (see
# gat_reweight_effv2s_cosine.py) or replaces it with a .npz file from
# tools/build_label_graph.py. The paper's node features are GloVe 300-d;
# offline, `word_vectors='glove-6b-50d'` gives GloVe 6B 50-d.
_base_ = ['./aam_settings.py', './effv2s_backbone.py']
model = dict(
    type='ImageClassifier',
    backbone={{_base_.effv2s_backbone}},
    neck=dict(
        type='GATReweightNeck',
        in_channels=1280,
        graph=dict(word_vectors='glove-6b-50d', t=0.4, p=0.25),
        layer_type='gat',
        num_layers=2,
        hidden_channels=1024,
        num_heads=4,
        out_type='map'),  # re-weighted feature map for ML-Decoder
    head=dict(
        type='MLDecoderHead',
        num_classes=20,
        in_channels=1280,
        normalized=True,  # cosine group-FC for the AAM loss
        act_cfg=dict(type='LeakyReLU', negative_slope=0.2),
        loss={{_base_.aam_voc}}),
)
