# Demo baseline: MMPretrain's stock multilabel head and ASL on the embedded
# synthetic scenes, EfficientNet-Lite0 (offline ImageNet weights), CPU friendly.
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/datasets/demo_scenes.py',
    '../_base_/models/lite0_demo.py',
]
custom_imports = dict(imports=['mmpretrain_multilabel'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone={{_base_.backbone}},
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MultiLabelLinearClsHead',
        num_classes={{_base_.num_classes}},
        in_channels=1280,
        loss=dict(type='AsymmetricLoss', gamma_pos=0.0, gamma_neg=4.0, clip=0.05)),
)

# AdamW for every demo: the cosine heads (AAM) scale their gradients by 1/|feature|, which
# plain SGD needs tens of thousands of iterations to overcome (the paper's budget); the
# demo has about 300. Same optimizer for all demo heads keeps their comparison fair.
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, eta_min=1e-4),
]
train_cfg = dict(by_epoch=True, max_epochs=6, val_interval=1)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1,
                    save_best='multi-label/mAP', rule='greater'),
)
custom_hooks = [dict(type='TrainingSummaryHook', key='multi-label/mAP')]
randomness = dict(seed=0, deterministic=False)
