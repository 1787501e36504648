"""Export a trained multilabel classifier to ONNX or OpenVINO IR.

    python tools/deployment/export.py CONFIG CHECKPOINT --format onnx|openvino \\
        [--thresholds thresholds.json] [--out PATH] [--opset 17] [--input-size N]

The exported model takes normalised float32 images ``[B, 3, H, W]`` (batch
dynamic) and returns per-class scores ``[B, K]`` (sigmoid applied). Class
names, thresholds, input size and normalisation are stored in its metadata
(see docs/deployment.md); ``tools/infer.py CONFIG MODEL.onnx|MODEL.xml ...``
runs it.
"""
import argparse
import os.path as osp

import mmpretrain_multilabel  # noqa: F401  registers the components
from mmpretrain_multilabel.apis import load_config
from mmpretrain_multilabel.deployment import (
    DEFAULT_OPSET,
    FORMATS,
    config_input_size,
    encode_metadata,
    export_model,
    load_model,
    preprocessing_metadata,
    resolve_thresholds,
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export a multilabel classifier to ONNX or '
                                     'OpenVINO')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file (with dataset_meta class names)')
    parser.add_argument('--format', required=True, choices=sorted(FORMATS),
                        help='onnx (.onnx) or openvino (.xml + .bin)')
    parser.add_argument('--thresholds',
                        help="thresholds JSON (from tools/tune_thresholds.py); default: the "
                        "head's thr in the config, else 0.5")
    parser.add_argument('--out', help='output file; default: the checkpoint path with .onnx / '
                        '.xml')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET, help='ONNX opset')
    parser.add_argument('--input-size', type=int,
                        help="square input size; default: the config's test pipeline size")
    args = parser.parse_args(argv)
    if args.input_size is not None and args.input_size < 1:
        parser.error(f'--input-size must be >= 1, got {args.input_size}')
    return args


def main(argv=None) -> str:
    args = parse_args(argv)
    model, cfg, classes = load_model(load_config(args.config), args.checkpoint)
    if args.input_size is not None:
        input_size = (args.input_size, args.input_size)
    else:
        input_size = config_input_size(cfg)
        if input_size is None:
            raise ValueError(f'{args.config}: the test pipeline has no fixed image size; '
                             'pass --input-size')
    thresholds = resolve_thresholds(args.thresholds, cfg, classes)
    metadata = encode_metadata(classes, thresholds, input_size, preprocessing_metadata(cfg))
    out = args.out or osp.splitext(args.checkpoint)[0] + FORMATS[args.format]
    path = export_model(model, out, args.format, input_size, metadata, args.opset)
    print(f'exported {len(classes)} classes at {input_size[0]}x{input_size[1]} to {path}')
    return path


if __name__ == '__main__':
    main()
