# MS-COCO 2017 multilabel, 448 px, the paper's augmentation.
# Images without annotations are dropped: 117,266 train / 4,952 val images,
# 80 classes in category-id order.
_base_ = ['./multilabel_448.py']

dataset_type = 'CocoMultiLabel'
data_root = 'data/coco'
num_classes = 80

data_preprocessor = dict(num_classes=num_classes)

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix='train2017',
        pipeline=_base_.train_pipeline),
)

val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val2017.json',
        data_prefix='val2017',
        test_mode=True,
        pipeline=_base_.test_pipeline),
)
test_dataloader = val_dataloader
