# The recommended recipe (lite0_cosine-aam-transfer-recipe: GAP + cosine classifier + AAM + the
# paper's recipe, the classifier transferred from ImageNet's and fitted to the training labels)
# whose fine-tuned weights are averaged halfway with that start when training ends (WiSE-FT,
# Wortsman et al. 2022, arXiv 2109.01903; WiSEFTHook), saved as work_dirs/<config>/wiseft.pth.
# A small-data variant: on coco319's cross-validation the recipe's training moved the fitted
# start little at 210 photos and lowered it with fewer; the average ranked held-out photos
# above the recipe's last checkpoint at every size measured (70 to 210 photos) and above the
# start at 210 (docs/results.md, "Real photos: coco319").
_base_ = ['./lite0_cosine-aam-transfer-recipe_1xb16_coco319-224px.py']

custom_hooks = _base_.custom_hooks + [dict(type='WiSEFTHook', alpha=0.5)]
