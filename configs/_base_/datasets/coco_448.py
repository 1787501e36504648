# MS-COCO 2017 multilabel, 448 px, the paper's augmentation.
# Images without annotations are dropped: 117,266 train / 4,952 val images,
# 80 classes in category-id order. Batch: 42 per GPU (the paper's 84 on 2
# GPUs; scale the LR if you change the total).
_base_ = ['./pipelines/paper_aug.py']

custom_imports = dict(imports=['mmpretrain_multilabel'], allow_failed_imports=False)

dataset_type = 'CocoMultiLabel'
data_root = 'data/coco'
num_classes = 80

data_preprocessor = dict(
    num_classes=num_classes,
    # RGB format normalization parameters (ImageNet)
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
    # one-hot targets for multilabel classification
    to_onehot=True,
)

train_dataloader = dict(
    batch_size=42,
    num_workers=8,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix='train2017',
        pipeline=_base_.train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)

val_dataloader = dict(
    batch_size=42,
    num_workers=8,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val2017.json',
        data_prefix='val2017',
        test_mode=True,
        pipeline=_base_.test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
test_dataloader = val_dataloader

# mAP (a class without positives counts as AP 0), CP/CR/CF1 and OP/OR/OF1 at
# 0.5 and at top-3, in one pass; ignored (-1) and VOC-difficult labels excluded.
val_evaluator = dict(type='MultiLabelSuite')
test_evaluator = val_evaluator
