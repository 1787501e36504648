# The embedded demo dataset: synthetic multilabel scenes generated on first
# use under data_root (no download). 1600 train / 400 val images, 128 px.
custom_imports = dict(imports=['mmpretrain_multilabel'], allow_failed_imports=False)

dataset_type = 'DemoScenes'
data_root = 'data/demo_scenes'
num_classes = 14

data_preprocessor = dict(
    num_classes=num_classes,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128)),  # the training size: real photos of any size work
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,  # PyTorch refuses it without workers (MMPretrain's tools set it)
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        num_images=1600,
        img_size=128,
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        num_images=400,
        img_size=128,
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
# mAP, CP/CR/CF1, OP/OR/OF1 (threshold 0.5 and top-3) in one pass
val_evaluator = dict(type='MultiLabelSuite')
test_dataloader = val_dataloader
test_evaluator = val_evaluator
