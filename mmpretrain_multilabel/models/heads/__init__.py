from .cosine_utils import CosineScoreMixin, cosine_linear, cosine_scores, l2_normalize
from .ml_decoder_head import MLDecoderHead, MLDecoderLayer, group_fc
from .multi_label_cosine_head import MultiLabelCosineClsHead

__all__ = [
    'CosineScoreMixin', 'cosine_linear', 'cosine_scores', 'l2_normalize', 'MLDecoderHead',
    'MLDecoderLayer', 'group_fc', 'MultiLabelCosineClsHead'
]
