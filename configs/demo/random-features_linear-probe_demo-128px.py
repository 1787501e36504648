# Difficulty check of the demo dataset: a linear probe on the features of a
# randomly initialised EfficientNet-Lite0 whose weights never change (lr and
# decay multipliers 0; batch-norm statistics still adapt to the data). A useful
# demo must leave this far behind the trained models.
_base_ = ['./lite0_linear-asl_1xb32_demo-128px.py']

model = dict(backbone=dict(frozen_modules=[], init_cfg=None))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.0, decay_mult=0.0)}))
