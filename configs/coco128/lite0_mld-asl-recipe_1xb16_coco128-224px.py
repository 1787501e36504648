# ML-Decoder + ASL (configs/effv2s/effv2s_mld-asl_2xb42_coco-448px.py)
# on real photos with the paper's recipe (SAM over SGD, no bias decay, OneCycle, EMA, early
# stopping): only the backbone (EfficientNet-Lite0, offline ImageNet weights), the size (224 px,
# batch 16) and the data (coco128) differ from the paper's row. benchmarks/coco128_cv.py
# cross-validates it; configs/coco128/README.md has the figures.
_base_ = [
    '../_base_/datasets/coco128_224.py',
    '../_base_/models/lite0_coco128.py',
    '../_base_/models/aam_settings.py',
    '../_base_/schedules/paper_recipe_asl.py',
]
custom_imports = dict(imports=['mmpretrain_multilabel'], allow_failed_imports=False)

max_epochs = 12
lr = 0.0001  # the paper's

model = dict(
    type='ImageClassifier',
    backbone={{_base_.backbone}},
    head=dict(
        type='MLDecoderHead',
        num_classes=80,
        in_channels=1280,
        loss={{_base_.asl_paper}}),
)
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = dict(eta_max=lr, total_steps=max_epochs)
train_cfg = dict(max_epochs=max_epochs)
