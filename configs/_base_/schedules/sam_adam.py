# The optimizer of the paper's ASL rows (Tables 2-5, 7: linear / ML-Decoder / Query2Label /
# ML-GCN + ASL), which the paper trains as ASL's authors do (Ben-Baruch et al. 2021,
# https://github.com/Alibaba-MIIL/ASL, train.py): Adam at 1e-4, weight decay 1e-4 without bias
# decay, here under the recipe's SAM (rho 0.05). The AAM rows' SGD at this LR barely moves
# the weights (docs/results.md, "Real photos").
optim_wrapper = dict(
    type='SAMOptimWrapper',
    rho=0.05,
    adaptive=False,
    optimizer=dict(type='Adam', lr=1e-4, weight_decay=1e-4),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.),
)
