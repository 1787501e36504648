# GAT label re-weighting + ML-Decoder (cosine) (arXiv 2209.06585, Sec. 3.3: "we can pass the
# weighted features to the ML-Decoder"; Table 6 "+ GAT" row): the neck of
# ../necks/gat_reweight.py returns the re-weighted map w * f and the ML-Decoder of
# ml_decoder_cosine.py attends over it. The config completes the neck's `num_classes` and
# `graph` (see gat_reweight.py). Composition: see linear.py.
_base_ = ['./ml_decoder_cosine.py', '../necks/gat_reweight.py']
model = dict(neck=dict(_base_.neck, out_type='map'))
