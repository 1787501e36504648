# EfficientNet-Lite0 for the real-photo recipes (configs/coco319/): the demo backbone (lite0.py)
# with blocks 0-5 frozen as well, so that only block 6, the 1x1 head convolution and the
# classifier train. Every real-photo row (stock and paper) uses it, so that a cross-validated
# table fits 2 CPU cores.
_base_ = ['./lite0.py']
backbone = dict(frozen_modules=['conv_stem', 'bn1', 'blocks.0', 'blocks.1', 'blocks.2',
                                'blocks.3', 'blocks.4', 'blocks.5'])
