# ML-Decoder with the cosine group projection (L2-normalised group features and weights) and
# the authors' LeakyReLU: the head of the paper's main rows, with an AAM loss
# (arXiv 2209.06585, Sec. 3.2). Composition: see linear.py.
_base_ = ['./ml_decoder.py']
model = dict(
    head=dict(
        normalized=True,
        act_cfg=dict(type='LeakyReLU', negative_slope=0.2)),  # the authors' AAM variant
)
