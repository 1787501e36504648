"""Multilabel inference on image files, folders or globs.

Prints one line per image (labels whose score reaches the class threshold,
with scores) and writes ``predictions.json`` and ``predictions.csv``::

    python tools/infer.py CONFIG CHECKPOINT demo/*.png more/ one.jpg \\
        --thresholds thresholds.json --out-dir work_dirs/infer

CHECKPOINT may be a model exported by ``tools/deployment/export.py``
(``.onnx``: ONNX Runtime, ``.xml``: OpenVINO)::

    python tools/infer.py CONFIG model.xml demo/ --precision fp32

The work is :mod:`mmpretrain_multilabel.apis.inference` (backends, batching,
decisions, output files); a checkpoint runs through
:class:`mmpretrain_multilabel.apis.MultiLabelClassificationInferencer`, the same
inference from Python with MMPretrain's inferencer API
(``inferencer(images)`` -> per image the label set, scores and thresholds).

Bad files: an image that cannot be read or decoded is named in a warning,
listed in ``predictions.json`` under ``errors`` and skipped; ``--strict`` stops
at the first one instead. The exit status is 0 when every image was
predicted, 1 otherwise.
"""
import argparse
import sys

from mmpretrain_multilabel.apis.inference import (
    BadImageError,
    infer_images,
    make_backend,
    parse_thresholds,
    size_note,
)
from mmpretrain_multilabel.deployment import DEFAULT_PRECISION, PRECISIONS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Multilabel inference: labels with scores per image')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        'checkpoint',
        help='checkpoint file, or a model exported by tools/deployment/export.py (.onnx: '
        'onnxruntime, .xml: OpenVINO)')
    parser.add_argument('images', nargs='+',
                        help='image files, folders or glob patterns')
    parser.add_argument(
        '--thresholds',
        help='thresholds JSON (class -> threshold, from '
        'tools/tune_thresholds.py) or one number; default: the head\'s thr '
        'in the config, else 0.5 (an exported model: its stored thresholds)')
    parser.add_argument('--out-dir', default='work_dirs/infer',
                        help='where predictions.json/.csv go')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--device', default='cpu',
                        help='torch device (exported models: onnxruntime cpu/cuda, or an '
                        'OpenVINO device)')
    parser.add_argument(
        '--precision', choices=list(PRECISIONS), default=DEFAULT_PRECISION,
        help='inference precision of an OpenVINO model (.xml); default fp32, the scores of '
        'the checkpoint. bf16/fp16 are faster where the CPU supports them (else OpenVINO '
        'runs fp32) and move the scores by about 1e-3 (docs/deployment.md)')
    parser.add_argument('--strict', action='store_true',
                        help='stop at the first image that cannot be read or decoded '
                        '(default: warn, list it under "errors" in predictions.json, skip it)')
    parser.add_argument('--no-progress', action='store_true',
                        help='hide the progress bar')
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f'--batch-size must be >= 1, got {args.batch_size}')
    return args


def main(argv=None) -> dict:
    """Run the tool; returns the paths, scores, labels and thresholds of
    the predicted images, the ``errors`` of the skipped ones and the
    written ``files`` (see :func:`~mmpretrain_multilabel.apis.inference.infer_images`).

    Raises:
        BadImageError: With ``--strict``, at the first bad image.
    """
    args = parse_args(argv)
    backend = make_backend(args.config, args.checkpoint, args.device, args.precision)
    note = size_note(backend)
    if note:
        print(f'note: {note}')
    result = infer_images(backend, args.images, parse_thresholds(args.thresholds),
                          args.out_dir, args.batch_size, strict=args.strict,
                          progress=not args.no_progress)
    for p, lab in zip(result['paths'], result['labels']):
        text = ', '.join(f'{c} ({s:.3f})' for c, s in lab) or '-'
        print(f'{p}: {text}')
    for err in result['errors']:
        print(f"skipped {err['image']}: {err['error']}", file=sys.stderr)
    files = result['files']
    print(f"{len(result['paths'])} of {result['inputs']} images predicted; written to "
          f"{files['json']} and {files['csv']}")
    return result


if __name__ == '__main__':
    try:
        result = main()
    except BadImageError as e:
        sys.exit(f'error: {e} (--strict)')
    sys.exit(1 if result['errors'] else 0)
