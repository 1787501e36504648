# The paper's main row (ML-Decoder + AAM + the paper's recipe, lite0_mld-aam-recipe) with the
# head started as the backbone's ImageNet classifier mapped to the class names
# (ClassifierTransferHook): the transferred classifier is carried through the decoder's own
# layers (input projection, uniform attention = average pooling, group projection;
# mmpretrain_multilabel/models/heads/pooled_start.py), so before training the head ranks
# photos as the transferred GAP classifier does. Architecture and checkpoint keys unchanged.
_base_ = ['./lite0_mld-aam-recipe_1xb16_coco319-224px.py']

custom_hooks = _base_.custom_hooks + [dict(type='ClassifierTransferHook')]
