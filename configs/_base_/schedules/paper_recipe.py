# Training recipe of Prokofiev & Sovrasov 2022 (arXiv 2209.06585), Sec. 3.5
# (docs/training_strategy.md): the optimizer of sam_sgd.py (SAM over SGD, no bias decay) with
# the schedule of paper_schedule.py (OneCycle per iteration peaking at the optimizer's LR, EMA
# weights, early stopping, the LR range test switched off by `lr_range_test`). It includes
# MMPretrain's default runtime (do not list that one again):
#     _base_ = ['<dataset>.py', '<backbone>.py', '<head>.py', '<loss>.py',
#               '../_base_/schedules/paper_recipe.py']
#     optim_wrapper = dict(optimizer=dict(lr=<the row's LR>))
_base_ = ['./sam_sgd.py', './paper_schedule.py']
