# The paper's optimizer (Prokofiev & Sovrasov 2022, arXiv 2209.06585, Sec. 3.5;
# docs/training_strategy.md): SAM (rho 0.05) over SGD with momentum, no weight decay on biases
# and norm layers (He et al. 2019). The LR is the paper's MS-COCO one; a config sets its row's
# with `optim_wrapper = dict(optimizer=dict(lr=...))`, and the OneCycle schedule of
# paper_schedule.py peaks at it.
optim_wrapper = dict(
    type='SAMOptimWrapper',
    rho=0.05,
    adaptive=False,
    optimizer=dict(type='SGD', lr=0.007, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.),
)
