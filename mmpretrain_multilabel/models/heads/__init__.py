from .cosine_utils import CosineScoreMixin, cosine_linear, cosine_scores, l2_normalize
from .ml_decoder_head import MLDecoderHead, MLDecoderLayer, group_fc
from .ml_gcn_head import MLGCNHead
from .multi_label_cosine_head import MultiLabelCosineClsHead
from .query2label_head import (
    Q2LLayer,
    Query2LabelHead,
    group_wise_linear,
    sine_position_encoding,
)

__all__ = [
    'CosineScoreMixin', 'cosine_linear', 'cosine_scores', 'l2_normalize', 'MLDecoderHead',
    'MLDecoderLayer', 'group_fc', 'MLGCNHead', 'MultiLabelCosineClsHead',
    'Q2LLayer', 'Query2LabelHead', 'group_wise_linear',
    'sine_position_encoding'
]
