# NUS-WIDE at 224 px (the low-resolution ablation, Table 9)
# nus_wide_448.py with every Resize at 224 x 224 (as vg500_576.py does for 576 px).
_base_ = ['./nus_wide_448.py']

img_size = 224
train_pipeline = [
    dict(t, scale=(img_size, img_size)) if t['type'] == 'Resize' else t
    for t in _base_.train_pipeline
]
test_pipeline = [
    dict(t, scale=(img_size, img_size)) if t['type'] == 'Resize' else t
    for t in _base_.test_pipeline
]

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
