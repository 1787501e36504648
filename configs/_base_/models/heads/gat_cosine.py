# GAT label re-weighting + cosine classifier (arXiv 2209.06585, "GAT re-weighting" rows): the
# neck of ../necks/gat_reweight.py pools the re-weighted map, GAP(w*f) + GMP(w*f), for the
# cosine head of cosine.py. The config completes the neck's `num_classes` and `graph` (see
# gat_reweight.py). Composition: see linear.py.
_base_ = ['./cosine.py', '../necks/gat_reweight.py']
model = dict(neck=dict(_base_.neck, out_type='pooled'))
