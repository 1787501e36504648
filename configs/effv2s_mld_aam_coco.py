# The paper's main COCO row under its short name: EfficientNetV2-s + ML-Decoder
# + AAM at 448 px with the full recipe (configs/effv2s/ holds every row).
_base_ = ['./effv2s/effv2s_mld-aam_2xb42_coco-448px.py']
