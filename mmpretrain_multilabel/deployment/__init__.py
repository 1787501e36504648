"""Export trained models (ONNX, OpenVINO) and run the exported models.

:mod:`.export` converts a checkpoint (``tools/deployment/export.py``),
:mod:`.runtime` runs the result (``tools/infer.py``), :mod:`.metadata`
defines what is stored with it.
"""
from .export import (
                       DEFAULT_OPSET,
                       FORMATS,
                       ScoresModel,
                       export_model,
                       export_onnx,
                       load_model,
                       onnx_to_openvino,
)
from .metadata import (
                       METADATA_KEYS,
                       config_input_size,
                       config_thresholds,
                       data_preprocessor_cfg,
                       decode_metadata,
                       encode_metadata,
                       preprocessing_metadata,
                       resolve_thresholds,
)
from .runtime import (
                       DEFAULT_PRECISION,
                       PRECISIONS,
                       ExportedModel,
                       OnnxModel,
                       OpenVINOModel,
                       check_precision,
                       import_optional,
                       load_exported,
                       openvino_config,
)

__all__ = [
    'DEFAULT_OPSET', 'FORMATS', 'ScoresModel', 'export_model', 'export_onnx', 'load_model',
    'onnx_to_openvino', 'METADATA_KEYS', 'config_input_size', 'config_thresholds',
    'data_preprocessor_cfg', 'decode_metadata', 'encode_metadata', 'preprocessing_metadata',
    'resolve_thresholds', 'ExportedModel', 'OnnxModel', 'OpenVINOModel', 'import_optional',
    'load_exported', 'DEFAULT_PRECISION', 'PRECISIONS', 'check_precision', 'openvino_config'
]
