# Query2Label head (Liu et al. 2021, https://arxiv.org/abs/2107.10834): the paper's Q2L peer
# (arXiv 2209.06585, Tables 2-4 "Q2L EfficientNet-V2-s" rows, with ASL), on the last feature
# map (no neck). Built as the paper's authors built it for EfficientNetV2-s (their FLOPs match
# it, docs/flops_peer_heads.md): width = FFN = the backbone's 1280 channels, 4 heads,
# 1 encoder + 2 decoder layers without query self-attention.
# For AAM: head normalized=True with an ../losses/aam_*.py loss and that dataset's LR.
# Composition: see linear.py.
model = dict(
    type='ImageClassifier',
    neck=None,  # the head reads the last feature map
    head=dict(
        type='Query2LabelHead',
        in_channels=1280,
        embed_dims=1280,
        num_heads=4,
        ffn_dims=1280,
        num_encoder_layers=1,
        num_decoder_layers=2,
        dropout=0.1),
)
