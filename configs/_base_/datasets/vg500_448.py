# Visual Genome 500 (SSGRL / C-Tran split: 82,904 train / 10,000 test),
# 448 px, the paper's augmentation. The paper's VG500 rows use 576 px:
# vg500_576.py.
_base_ = ['./pipelines/paper_aug.py']

custom_imports = dict(imports=['mmpretrain_multilabel'], allow_failed_imports=False)

dataset_type = 'VG500MultiLabel'
data_root = 'data/VG'
num_classes = 500

data_preprocessor = dict(
    num_classes=num_classes,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
    to_onehot=True,
)

train_dataloader = dict(
    batch_size=42,
    num_workers=8,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=_base_.train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)

val_dataloader = dict(
    batch_size=42,
    num_workers=8,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        test_mode=True,
        pipeline=_base_.test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
test_dataloader = val_dataloader

# mAP (a class without positives counts as AP 0), CP/CR/CF1 and OP/OR/OF1 at
# 0.5 and at top-3, in one pass; ignored (-1) and VOC-difficult labels excluded.
val_evaluator = dict(type='MultiLabelSuite')
test_evaluator = val_evaluator
