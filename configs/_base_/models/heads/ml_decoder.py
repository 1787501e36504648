# ML-Decoder (Ridnik et al. 2023, https://arxiv.org/abs/2111.12933) as its authors built it:
# group queries over the last feature map (no neck), ReLU in the decoder, a linear group
# projection; the paper's ASL rows (arXiv 2209.06585, Tables 2-5). For the AAM rows:
# ml_decoder_cosine.py. Composition: see linear.py.
model = dict(
    type='ImageClassifier',
    head=dict(
        type='MLDecoderHead',
        in_channels=1280,
        normalized=False,
        act_cfg=dict(type='ReLU')),
)
