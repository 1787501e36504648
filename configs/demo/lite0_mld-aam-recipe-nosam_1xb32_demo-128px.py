# The main demo with the plain optimizer: everything as the full recipe
# (AdamW, OneCycle, EMA, early stopping, no bias decay, same epochs) except SAM.
_base_ = ['./lite0_mld-aam-recipe_1xb32_demo-128px.py']

optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.01),
                     paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.,
                                        custom_keys={'head': dict(lr_mult=0.3)}))
