# Real-data check (issue 7): fine-tune ImageNet-pretrained EfficientNet-Lite0
# (offline weights, no download) with MMPretrain's stock GAP + linear head on
# coco128: the first 96 annotated images train, the last 30 are held out.
# CPU-sized: 224 px, batch 16, a few epochs.
#   python tools/train.py configs/coco128/lite0_linear_coco128-224px.py
_base_ = [
    '../_base_/datasets/coco_448.py',
    'mmpretrain::_base_/default_runtime.py',
]

custom_imports = dict(imports=['mmpretrain_multilabel'], allow_failed_imports=False)

data_root = '../shared/data/coco128'  # relative to the repository root
img_size = 224
num_train = 96  # of the 126 annotated images; the rest is held out

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='TIMMBackbone',
        model_name='efficientnet_lite0',
        init_cfg=dict(type='Pretrained', checkpoint='offline://efficientnet_lite0')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MultiLabelLinearClsHead',
        num_classes=80,
        in_channels=1280,
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True)),
)

train_pipeline = [
    dict(t, scale=(img_size, img_size)) if t['type'] == 'Resize' else t
    for t in _base_.train_pipeline
]
test_pipeline = [
    dict(t, scale=(img_size, img_size)) if t['type'] == 'Resize' else t
    for t in _base_.test_pipeline
]

train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix='train2017',
        indices=list(range(num_train)),
        pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=16,
    num_workers=0,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix='train2017',
        indices=list(range(num_train, 126)),
        pipeline=test_pipeline),
)
test_dataloader = val_dataloader

# SGD 0.01 (0.1 diverges here) and 10x for the new head, cosine decay
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=10.0)}))
param_scheduler = dict(type='CosineAnnealingLR', by_epoch=True, eta_min=1e-4)
train_cfg = dict(by_epoch=True, max_epochs=8, val_interval=8)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=2),
    checkpoint=dict(type='CheckpointHook', interval=8, max_keep_ckpts=1))
randomness = dict(seed=0, deterministic=False)
