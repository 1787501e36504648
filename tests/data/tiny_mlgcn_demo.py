# The ML-GCN demo (graph-convolution classifiers, cosine + AAM) shrunk for tests: 16 train /
# 13 val images of 64 px, one epoch of 2 iterations, a narrow first graph layer. The label
# graph is built from the tiny training split when the model is built (no manual step). The
# tests override data_root (of the loaders and of model.head.graph.dataset).
_base_ = ['../../configs/demo/lite0_mlgcn-aam_1xb32_demo-128px.py']

train_dataloader = dict(
    batch_size=8, dataset=dict(num_images=16, img_size=64))
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(64, 64)),
                 dict(type='PackInputs')]  # the training size, as in the demo
val_dataloader = dict(
    batch_size=4, dataset=dict(num_images=13, img_size=64, pipeline=test_pipeline))
test_dataloader = val_dataloader
model = dict(head=dict(graph=dict(dataset=dict(num_images=16, img_size=64)),
                       hidden_channels=32))
train_cfg = dict(max_epochs=1)
default_hooks = dict(logger=dict(interval=1))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True)]
