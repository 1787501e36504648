# TResNet-L + ML-Decoder (cosine) + AAM, MS-COCO at 640 px, the paper's recipe (Table 2
# "ML-Decoder + AAM (ours) TResNet-L 640x640"). Start the backbone from the ML-Decoder
# release (converted; switch in ../_base_/models/openimages_init.py). Lower the batch if
# 42 images of 640 px do not fit a GPU.
_base_ = [
    '../_base_/datasets/coco_640.py',
    '../_base_/models/tresnet-l_mld_aam.py',
    '../_base_/schedules/paper_recipe.py',
]

optim_wrapper = dict(optimizer=dict(lr=0.007))
param_scheduler = dict(eta_max=0.007)
# the paper's figures for this row (mAP; GFLOPs with the paper's counter)
paper_reference = dict(table='Table 2', mAP=91.3, gflops=73.42, shape=640)
