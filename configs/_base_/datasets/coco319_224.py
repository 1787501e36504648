# coco319 (319 COCO-2017 train photos with their original instances JSON; 315 annotated, all
# 80 classes present) at 224 px: real photos at a size that fits 2 CPU cores. The paper's
# augmentation, batch 16. Both loaders read the same JSON; `indices` choose the training and
# the held-out images (benchmarks/coco_cv.py sets them per cross-validation fold). Point
# `data_root` at the fixture, e.g. `ln -s /path/to/coco319 data/coco319`, or
# `--cfg-options train_dataloader.dataset.data_root=... val_dataloader.dataset.data_root=...`.
# The smaller coco128 fixture (126 annotated) has the same layout: with it, give both datasets
# `indices` within its 126 annotated photos (benchmarks/coco_cv.py --data-root data/coco128).
_base_ = ['./coco_448.py']

data_root = 'data/coco319'
img_size = 224
num_train = 285  # the first 285 annotated images train, the last 30 are held out
num_annotated = 315

# same pipelines, every Resize at 224 x 224
train_pipeline = [
    dict(t, scale=(img_size, img_size)) if t['type'] == 'Resize' else t
    for t in _base_.train_pipeline
]
test_pipeline = [
    dict(t, scale=(img_size, img_size)) if t['type'] == 'Resize' else t
    for t in _base_.test_pipeline
]

_coco = dict(
    data_root=data_root,
    ann_file='annotations/instances_train2017.json',
    data_prefix='train2017')
train_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    dataset=dict(**_coco, indices=list(range(num_train)), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    dataset=dict(**_coco, test_mode=True, indices=list(range(num_train, num_annotated)),
                 pipeline=test_pipeline))
test_dataloader = val_dataloader

# a held-out fold of ~30-40 photos lacks most of the 80 classes: average over those present
val_evaluator = dict(type='MultiLabelSuite', empty_class='exclude')
test_evaluator = val_evaluator
