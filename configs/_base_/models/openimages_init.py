# Start a paper row from OpenImages pre-training (Sec. 4.3): the backbone of a checkpoint
# of configs/openimages/ (or a converted ML-Decoder release, tools/model_converters/
# ml_decoder_to_mmpretrain.py) is loaded and its head dropped; the log lists the keys
# loaded and skipped (mmpretrain_multilabel/models/utils/pretrained_report.py).
#
# One switch on any EfficientNetV2 row (its backbone already has a Pretrained init_cfg
# with prefix 'backbone'):
#     python tools/train.py configs/effv2s/effv2s_mld-aam_2xb42_coco-448px.py \
#         --cfg-options model.backbone.init_cfg.checkpoint=$OI_CKPT
# TResNet rows add the type and prefix:
#     --cfg-options model.backbone.init_cfg.type=Pretrained \
#         model.backbone.init_cfg.prefix=backbone. model.backbone.init_cfg.checkpoint=$OI_CKPT
# Or in a leaf: _base_ = ['<row>.py', '<this file>'] and
#     model = dict(backbone=dict(init_cfg=_base_.openimages_init))
openimages_init = dict(
    type='Pretrained',
    checkpoint='work_dirs/effv2s_mld-asl_8xb64_openimages-224px/epoch_50.pth',
    prefix='backbone.')
