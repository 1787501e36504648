# TResNet-L (timm `tresnet_v2_l`, the network of the ML-Decoder release: layers 3-4-23-3,
# bottlenecks everywhere) through MMPretrain's TIMMBackbone. Its last feature map has 2048
# channels: the heads' `in_channels` (1280 in ../heads/) is set to 2048 by the configs that
# use it. The paper initialised it from the ML-Decoder release: convert that checkpoint with
# tools/model_converters/ml_decoder_to_mmpretrain.py, then set `load_from` (the whole model),
# or load only its backbone (head dropped, keys loaded / skipped logged):
#     --cfg-options model.backbone.init_cfg.type=Pretrained \
#         model.backbone.init_cfg.prefix=backbone model.backbone.init_cfg.checkpoint=$CKPT
# Use as `backbone={{_base_.backbone}}` (see effv2s.py).
backbone = dict(type='TIMMBackbone', model_name='tresnet_v2_l')
