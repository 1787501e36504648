# TResNet-L as the ML-Decoder release builds it (timm `tresnet_v2_l`: layers 3-4-23-3,
# bottlenecks everywhere, 2048 channels; docs/results.md). The paper starts it from the
# release's weights: tools/model_converters/ml_decoder_to_mmpretrain.py, then the switch
# of openimages_init.py (prefix 'backbone.').
# Use as `backbone={{_base_.tresnet_l_backbone}}` in a model config that lists this file.
tresnet_l_backbone = dict(type='TIMMBackbone', model_name='tresnet_v2_l')
