# MS-COCO 2014 multilabel (82,081 train / 40,137 val annotated images), 448 px.
_base_ = ['./coco_448.py']

train_dataloader = dict(
    dataset=dict(
        ann_file='annotations/instances_train2014.json',
        data_prefix='train2014'))
val_dataloader = dict(
    dataset=dict(
        ann_file='annotations/instances_val2014.json',
        data_prefix='val2014'))
test_dataloader = val_dataloader
