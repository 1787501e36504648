# Stock MMPretrain on real photos: EfficientNet-Lite0 (offline ImageNet weights, blocks 0-5
# frozen) + GAP + MMPretrain's linear head and ASL, AdamW with cosine decay: the best simple
# optimizer setting of the search in docs/results.md. The baseline of benchmarks/coco128_cv.py.
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/datasets/coco128_224.py',
    '../_base_/models/lite0_coco128.py',
]
custom_imports = dict(imports=['mmpretrain_multilabel'], allow_failed_imports=False)

max_epochs = 12

model = dict(
    type='ImageClassifier',
    backbone={{_base_.backbone}},
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MultiLabelLinearClsHead',
        num_classes=80,
        in_channels=1280,
        loss=dict(type='AsymmetricLoss', gamma_pos=0.0, gamma_neg=4.0, clip=0.05)),
)

optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.01))
param_scheduler = dict(type='CosineAnnealingLR', by_epoch=True, eta_min=1e-5,
                       convert_to_iter_based=True)
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=2),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1,
                    save_best='multi-label/mAP', rule='greater'))
custom_hooks = [dict(type='TrainingSummaryHook', key='multi-label/mAP')]
randomness = dict(seed=0, deterministic=False)
