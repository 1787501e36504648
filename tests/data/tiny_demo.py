# A tiny variant of the demo for tests: 16 train / 13 val images of 64 px,
# so one epoch is 2 iterations and the odd val size exercises the padding
# of distributed evaluation. The tests override data_root.
_base_ = ['../../configs/demo/lite0_linear-asl_1xb32_demo-128px.py']

train_dataloader = dict(
    batch_size=8, dataset=dict(num_images=16, img_size=64))
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(64, 64)),
                 dict(type='PackInputs')]  # the training size, as in the demo
val_dataloader = dict(
    batch_size=4, dataset=dict(num_images=13, img_size=64, pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=1)
default_hooks = dict(logger=dict(interval=1))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True)]
