# Global average pooling + cosine classifier (L2-normalised features and class weights), the
# head of the paper's "AM loss" row (Prokofiev & Sovrasov 2022, arXiv 2209.06585, Sec. 3.1);
# use with an AAM loss (../losses/aam_*.py). Composition: see linear.py.
model = dict(
    type='ImageClassifier',
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='MultiLabelCosineClsHead', in_channels=1280),
)
