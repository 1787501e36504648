# Stock MMPretrain on real photos (lite0_linear-asl, the baseline) with one change: the linear
# classifier starts from the backbone's ImageNet classifier mapped to the 80 class names
# through GloVe and fitted to the training labels (ClassifierTransferHook, linear_probe). It
# shows how much of the recommended recipe's gain is the start of the classifier
# (docs/results.md, "Real photos").
_base_ = ['./lite0_linear-asl_1xb16_coco319-224px.py']

custom_hooks = _base_.custom_hooks + [dict(type='ClassifierTransferHook', linear_probe=True)]
