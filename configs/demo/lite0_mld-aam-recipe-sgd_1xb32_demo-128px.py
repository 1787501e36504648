# The main demo with the plain optimizer: everything as the full recipe
# (OneCycle, EMA, early stopping, same epochs) except SAM, for comparison.
_base_ = ['./lite0_mld-aam-recipe_1xb32_demo-128px.py']

optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=5e-4),
                     paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.))
