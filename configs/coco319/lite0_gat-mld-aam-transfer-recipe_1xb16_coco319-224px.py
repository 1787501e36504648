# GAT re-weighting + ML-Decoder + AAM + the paper's recipe (lite0_gat-mld-aam-recipe) with the
# ML-Decoder started as the transferred ImageNet classifier fitted to the training labels
# (ClassifierTransferHook, linear_probe): the GAT branch's initial channel weights are divided
# out of the classifier, so before training the model ranks photos nearly as that GAP
# classifier does.
_base_ = ['./lite0_gat-mld-aam-recipe_1xb16_coco319-224px.py']

custom_hooks = _base_.custom_hooks + [dict(type='ClassifierTransferHook', linear_probe=True)]
