# Global average pooling + MMPretrain's linear multilabel head (the paper's ablation baseline,
# Table 7, with ASL). A head base defines `model` without its backbone, loss and class count:
#     _base_ = ['<dataset>.py', '../_base_/models/backbones/<backbone>.py',
#               '../_base_/models/heads/<head>.py', '../_base_/models/losses/<loss>.py',
#               '<schedule>.py']
#     model = dict(backbone={{_base_.backbone}},
#                  head=dict(num_classes={{_base_.num_classes}}, loss={{_base_.loss}}))
# in_channels 1280: the last stage of EfficientNetV2-s/-L and EfficientNet-Lite0 (TResNet-L
# configs set 2048).
model = dict(
    type='ImageClassifier',
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='MultiLabelLinearClsHead', in_channels=1280),
)
