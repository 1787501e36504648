# The README's main demo (cosine + AAM with the recipe, no SAM) shrunk for tests: 16 train / 13
# val images of 64 px, one epoch of 2 iterations. The tests override data_root.
_base_ = ['../../configs/demo/lite0_cosine-aam-recipe_1xb32_demo-128px.py']

train_dataloader = dict(
    batch_size=8, dataset=dict(num_images=16, img_size=64))
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(64, 64)),
                 dict(type='PackInputs')]  # the training size, as in the demo
val_dataloader = dict(
    batch_size=4, dataset=dict(num_images=13, img_size=64, pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=1)
param_scheduler = dict(total_steps=1)
default_hooks = dict(logger=dict(interval=1))
