# The paper's main COCO row (EfficientNetV2-s + ML-Decoder + AAM, Table 2) started, as the
# paper's, from the OpenImages pre-training of effv2s_mld-asl_8xb64_openimages-224px.py:
# the row's backbone init (Pretrained, prefix 'backbone') pointed at that checkpoint, so the
# backbone is loaded, the pre-training head dropped and the keys loaded / skipped logged
# (mmpretrain_multilabel/models/utils/pretrained_report.py). Any other EfficientNetV2 row takes
# the same start from the command line:
#     --cfg-options model.backbone.init_cfg.checkpoint=$OI_CKPT
# (TResNet rows: ../_base_/models/backbones/tresnet_l.py).
_base_ = ['../effv2s/effv2s_mld-aam_2xb42_coco-448px.py']

model = dict(backbone=dict(init_cfg=dict(
    checkpoint='work_dirs/effv2s_mld-asl_8xb64_openimages-224px/epoch_50.pth')))
