# Visual Genome 500 at 576 px (the paper's Table 5 and C-Tran's resolution).
_base_ = ['./vg500_448.py']

img_size = 576
# same pipelines, every Resize at 576 x 576
train_pipeline = [
    dict(t, scale=(img_size, img_size)) if t['type'] == 'Resize' else t
    for t in _base_.train_pipeline
]
test_pipeline = [
    dict(t, scale=(img_size, img_size)) if t['type'] == 'Resize' else t
    for t in _base_.test_pipeline
]

train_dataloader = dict(batch_size=28, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=28, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
