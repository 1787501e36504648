# The paper's main row (ML-Decoder + AAM + the paper's recipe, lite0_mld-aam-recipe) with the
# head started as the backbone's ImageNet classifier mapped to the class names
# (ClassifierTransferHook): the transferred classifier is carried through the decoder's own
# layers (input projection, uniform attention = average pooling, group projection;
# mmpretrain_multilabel/models/heads/pooled_start.py) after a closed-form fit to the training
# labels (linear_probe), so before training the head ranks photos nearly as that fitted GAP
# classifier does, and its attention learns from the first step. Architecture and checkpoint
# keys unchanged.
_base_ = ['./lite0_mld-aam-recipe_1xb16_coco319-224px.py']

custom_hooks = _base_.custom_hooks + [dict(type='ClassifierTransferHook', linear_probe=True)]
