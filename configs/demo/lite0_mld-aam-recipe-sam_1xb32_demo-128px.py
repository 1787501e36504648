# The main demo with SAM (rho 0.05, the paper's) over its AdamW: the paper's full recipe.
# Each step costs two forward/backward passes; at the same 4 epochs it takes about twice the
# main demo's time (docs/results.md).
_base_ = ['./lite0_mld-aam-recipe_1xb32_demo-128px.py']

optim_wrapper = dict(type='SAMOptimWrapper', rho=0.05, adaptive=False)
