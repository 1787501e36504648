# The paper's main COCO row (EfficientNetV2-s + ML-Decoder + AAM, Table 2) started, as the
# paper's, from the OpenImages pre-training of
# configs/openimages/effv2s_mld-asl_8xb64_openimages-224px.py: backbone loaded, head
# dropped, the loaded / skipped keys logged. Every other row: the --cfg-options switch of
# ../_base_/models/openimages_init.py.
_base_ = ['../effv2s/effv2s_mld-aam_2xb42_coco-448px.py',
          '../_base_/models/openimages_init.py']

model = dict(backbone=dict(init_cfg=_base_.openimages_init))
