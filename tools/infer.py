"""Multilabel inference on image files, folders or globs.

Prints one line per image (labels whose score reaches the class threshold,
with scores) and writes ``predictions.json`` and ``predictions.csv``::

    python tools/infer.py CONFIG CHECKPOINT demo/*.png more/ one.jpg \\
        --thresholds thresholds.json --out-dir work_dirs/infer

Images go through the config's test pipeline (loading included) and are
batched with the images of the same shape; the scores come from a
:class:`Backend`. :class:`PytorchBackend` runs the checkpoint (MMPretrain's
``ImageClassificationInferencer`` builds it); for an exported model
(CHECKPOINT ending in ``.onnx`` or ``.xml``, from
``tools/deployment/export.py``) :class:`OnnxBackend` /
:class:`OpenVINOBackend` run it on the same preprocessed batches (the
config's test pipeline and data preprocessor), with the class names and
thresholds stored at export::

    python tools/infer.py CONFIG model.xml demo/ --precision fp32

Image sizes: the shipped configs resize in their test pipeline. With a
pipeline that does not (no ``Resize`` without ``keep_ratio``, no crop in
``test_dataloader.dataset.pipeline``), a checkpoint predicts every image at
its own size, and an exported model's input size is appended to the
pipeline (it takes no other).

Bad files: an image that cannot be read or decoded is named in a warning,
listed in ``predictions.json`` under ``errors`` and skipped; ``--strict``
stops at the first one instead. The exit status is 0 when every image was
predicted, 1 otherwise.
"""
import argparse
import csv
import glob
import json
import os
import os.path as osp
import sys
import warnings
from abc import ABCMeta, abstractmethod
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Type, Union

import numpy as np
import torch
from mmcv.image import imfrombytes
from mmengine.config import Config
from mmengine.dataset import Compose, default_collate
from mmengine.registry import DefaultScope
from mmpretrain.apis import ImageClassificationInferencer
from mmpretrain.registry import MODELS, TRANSFORMS

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
import mmpretrain_multilabel  # noqa: E402,F401  registers the components
from mmpretrain_multilabel.deployment import (  # noqa: E402
    DEFAULT_PRECISION,
    PRECISIONS,
    ExportedModel,
    OnnxModel,
    OpenVINOModel,
    config_thresholds,
    data_preprocessor_cfg,
)
from mmpretrain_multilabel.utils import load_thresholds  # noqa: E402

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff',
                    '.webp', '.ppm', '.pgm')
#: The config key whose ``Resize`` brings images to the model's size.
PIPELINE_KEY = 'test_dataloader.dataset.pipeline'


class BadImageError(RuntimeError):
    """An input image could not be read or decoded (``--strict``)."""


def expand_inputs(items: Sequence[str]) -> List[str]:
    """Image paths from files, folders (their entries with an image
    extension, sorted, not recursive) and glob patterns (``**``
    recursive); duplicates dropped.

    A folder entry or glob match with an image extension that is not a
    readable file (a broken link, say) is kept: it fails when loaded and is
    reported as a bad image, instead of vanishing silently.

    Raises:
        FileNotFoundError: An item matches no image.
    """
    paths: Dict[str, None] = {}
    for item in items:
        if osp.isdir(item):
            found = sorted(
                osp.join(item, f) for f in os.listdir(item)
                if f.lower().endswith(IMAGE_EXTENSIONS)
                and not osp.isdir(osp.join(item, f)))
        elif osp.isfile(item):
            found = [item]
        else:
            found = sorted(p for p in glob.glob(item, recursive=True)
                           if not osp.isdir(p)
                           and p.lower().endswith(IMAGE_EXTENSIONS))
        if not found:
            raise FileNotFoundError(f'no image found for {item!r}')
        paths.update(dict.fromkeys(found))
    return list(paths)


def read_image(path: str) -> dict:
    """Load an image file as the stock inferencer does (BGR, MMCV's cv2
    decoder), with a clear error for files that are not images.

    Raises:
        OSError: The path cannot be read.
        ValueError: The file is empty or does not decode to an image.
    """
    with open(path, 'rb') as f:
        data = f.read()
    if not data:
        raise ValueError('empty file')
    img = imfrombytes(data)
    if img is None:
        raise ValueError('not a decodable image (corrupt, truncated or another file type)')
    return dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2], img_path=path)


def fixes_input_size(pipeline: Sequence[dict]) -> bool:
    """Whether a test pipeline brings every image to one size: a crop or a
    ``Resize`` to a fixed scale without ``keep_ratio``."""
    return any(step.get('crop_size') is not None
               or (str(step.get('type', '')).split('.')[-1] == 'Resize'
                   and step.get('scale') is not None and not step.get('keep_ratio', False))
               for step in pipeline)


def build_test_pipeline(cfg: Config,
                        input_size: Optional[Tuple[int, int]] = None) -> Callable[[str], dict]:
    """The config's test pipeline as a function of an image path.

    The loading step (``LoadImageFromFile`` and its variants) is replaced by
    :func:`read_image`. With ``input_size`` (``(H, W)``) and a pipeline
    that does not fix the size (:func:`fixes_input_size`), a ``Resize`` to
    it goes before the last step (``PackInputs``).
    """
    steps = [dict(s) for s in cfg.test_dataloader.dataset.pipeline
             if not str(s.get('type', '')).endswith('LoadImageFromFile')]
    if input_size is not None and not fixes_input_size(steps):
        steps.insert(len(steps) - 1, dict(type='Resize', scale=(input_size[1], input_size[0])))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        transforms = Compose([TRANSFORMS.build(s) for s in steps])
    return Compose([read_image, transforms])


def load_images(paths: Sequence[str], pipeline: Callable[[str], dict],
                errors: List[dict], strict: bool = False) -> Iterator[Tuple[int, dict]]:
    """``(index, pipeline output)`` of each path that loads; the others are
    appended to ``errors`` as ``{'image', 'error'}`` with a warning.

    Raises:
        BadImageError: With ``strict``, at the first path that fails.
    """
    for i, path in enumerate(paths):
        try:
            data = pipeline(path)
        except Exception as e:  # OSError, cv2/PIL errors, ValueError of read_image
            message = f'{type(e).__name__}: {e}'
            if strict:
                raise BadImageError(f'cannot read image {path}: {message}') from e
            warnings.warn(f'skipped image {path}: {message}', stacklevel=2)
            errors.append(dict(image=path, error=message))
            continue
        yield i, data


def batches_by_shape(items: Iterable[Tuple[int, dict]],
                     batch_size: int) -> Iterator[Tuple[List[int], List[dict]]]:
    """Group pipeline outputs into batches of equal input shape.

    A batch is yielded once it holds ``batch_size`` samples of one shape;
    the partial batches follow at the end. With a fixed-size pipeline this
    is plain chunking in input order.

    Args:
        items: ``(index, sample)`` with the image tensor in
            ``sample['inputs']``.
        batch_size: Samples per batch.

    Yields:
        ``(indices, samples)`` of one batch.
    """
    buckets: Dict[tuple, Tuple[List[int], List[dict]]] = {}
    for index, sample in items:
        key = tuple(sample['inputs'].shape)
        indices, samples = buckets.setdefault(key, ([], []))
        indices.append(index)
        samples.append(sample)
        if len(indices) == batch_size:
            yield buckets.pop(key)
    yield from buckets.values()


class Backend(metaclass=ABCMeta):
    """Turns a preprocessed batch into ``(B, K)`` scores in [0, 1].

    Attributes:
        classes: Class names, in score order.
        config: The model config (its test pipeline preprocesses images).
        default_thresholds: Thresholds when ``--thresholds`` is not given.
        pipeline: Image path to a packed sample (:func:`build_test_pipeline`).
    """
    classes: List[str]
    config: Config
    default_thresholds: Union[float, Sequence[float], str]
    pipeline: Callable[[str], dict]

    @abstractmethod
    def predict(self, batch: dict) -> np.ndarray:
        """Scores of a collated batch of :attr:`pipeline` outputs."""


class PytorchBackend(Backend):
    """A checkpoint of a config, through ``ImageClassificationInferencer``.

    Args:
        config (str): Config file.
        checkpoint (str): Checkpoint file; the classes come from its
            ``dataset_meta``, else from the test dataset's ``METAINFO``.
        device (str): Torch device. Defaults to ``'cpu'``.
        precision (str): Must be ``'fp32'`` (the checkpoint's precision).
    """

    def __init__(self, config: str, checkpoint: str, device: str = 'cpu',
                 precision: str = DEFAULT_PRECISION):
        if precision != DEFAULT_PRECISION:
            raise ValueError(f'--precision {precision} applies to exported OpenVINO models '
                             '(.xml); a checkpoint runs in fp32')
        self.inferencer = ImageClassificationInferencer(
            model=config, pretrained=checkpoint, device=device)
        self.config = self.inferencer.config
        classes = self.inferencer.classes
        if classes is None:
            raise ValueError(f'{checkpoint}: no class names in the checkpoint'
                             ' meta nor in the config test dataset')
        self.classes = list(classes)
        self.default_thresholds = config_thresholds(self.config)
        self.pipeline = build_test_pipeline(self.config)

    def predict(self, batch: dict) -> np.ndarray:
        preds = self.inferencer.forward(batch)
        return torch.stack([p.pred_score for p in preds]).float().cpu(
        ).numpy()


class ExportedBackend(Backend):
    """An exported model of a config: the config's test pipeline (with the
    exported input size when the pipeline fixes none) and data
    preprocessor, then the runtime; classes and default thresholds from the
    model's metadata.

    Args:
        config (str): Config file the model was exported from.
        model (str): The exported model.
        device (str): The runtime's device. Defaults to ``'cpu'``.
        precision (str): Inference precision (``fp32``, ``bf16``,
            ``fp16``; OpenVINO only other than fp32). Defaults to ``'fp32'``.
    """
    runtime: Type[ExportedModel]

    def __init__(self, config: str, model: str, device: str = 'cpu',
                 precision: str = DEFAULT_PRECISION):
        self.model = self.runtime(model, device, precision=precision)
        self.config = Config.fromfile(config)
        self.classes = self.model.classes
        self.default_thresholds = self.model.thresholds
        self.pipeline = build_test_pipeline(self.config, self.model.input_size)
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            self.data_preprocessor = MODELS.build(data_preprocessor_cfg(self.config))

    def predict(self, batch: dict) -> np.ndarray:
        with torch.no_grad():
            inputs = self.data_preprocessor(batch, False)['inputs']
        return self.model(inputs.numpy())


class OnnxBackend(ExportedBackend):
    """An exported ``.onnx`` model in onnxruntime."""
    runtime = OnnxModel


class OpenVINOBackend(ExportedBackend):
    """An exported ``.xml`` model (OpenVINO IR) in OpenVINO."""
    runtime = OpenVINOModel


def make_backend(config: str, checkpoint: str, device: str = 'cpu',
                 precision: str = DEFAULT_PRECISION) -> Backend:
    """:class:`OnnxBackend` for ``.onnx``, :class:`OpenVINOBackend` for
    ``.xml``, else :class:`PytorchBackend`."""
    suffix = osp.splitext(checkpoint)[1].lower()
    backend = {'.onnx': OnnxBackend, '.xml': OpenVINOBackend}.get(suffix, PytorchBackend)
    return backend(config, checkpoint, device, precision)


def predict_images(backend: Backend,
                   paths: List[str],
                   batch_size: int = 8,
                   progress: bool = True,
                   strict: bool = False) -> Tuple[np.ndarray, List[str], List[dict]]:
    """Scores of the images that load, batch by batch (images of one shape
    together), with a progress bar.

    Returns:
        ``(scores, predicted, errors)``: ``(N, K)`` scores of the
        ``predicted`` paths (input order), and ``{'image', 'error'}`` of
        each skipped one.

    Raises:
        BadImageError: With ``strict``, at the first bad image.
    """
    from tqdm import tqdm
    errors: List[dict] = []
    scores: Dict[int, np.ndarray] = {}
    items = load_images(paths, backend.pipeline, errors, strict)
    with tqdm(total=len(paths), desc='infer', unit='img',
              disable=not progress) as bar:
        for indices, samples in batches_by_shape(items, batch_size):
            out = backend.predict(default_collate(samples))
            scores.update(zip(indices, out))
            bar.update(len(indices))
    order = sorted(scores)
    stacked = np.stack([scores[i] for i in order]) if order else np.zeros(
        (0, len(backend.classes)), np.float32)
    return stacked, [paths[i] for i in order], errors


def decide(scores: np.ndarray, thresholds: Union[float, Sequence[float]],
           classes: Sequence[str]) -> List[List[Tuple[str, float]]]:
    """Per image, ``(class, score)`` for ``score >= threshold``, best
    first."""
    thr = np.broadcast_to(np.asarray(thresholds, np.float64),
                          (scores.shape[1],))
    out = []
    for row in scores:
        idx = np.nonzero(row.astype(np.float64) >= thr)[0]
        idx = idx[np.argsort(-row[idx], kind='stable')]
        out.append([(classes[i], float(row[i])) for i in idx])
    return out


def write_outputs(out_dir: str, paths: List[str], scores: np.ndarray,
                  labels: List[List[Tuple[str, float]]],
                  classes: Sequence[str],
                  thresholds: Union[float, List[float]],
                  errors: Sequence[dict] = ()) -> Dict[str, str]:
    """Write ``predictions.json`` and ``predictions.csv``; return paths.

    The JSON holds the classes, thresholds, per predicted image the labels
    with scores and all scores, and the ``errors`` (``{'image', 'error'}``
    of each skipped image); the CSV one row per predicted image: path,
    labels (``;``-separated), then one score column per class.
    """
    os.makedirs(out_dir, exist_ok=True)
    files = dict(json=osp.join(out_dir, 'predictions.json'),
                 csv=osp.join(out_dir, 'predictions.csv'))
    records = [
        dict(image=p, labels=[c for c, _ in lab],
             label_scores=[s for _, s in lab],
             scores={c: float(s) for c, s in zip(classes, row)})
        for p, row, lab in zip(paths, scores, labels)
    ]
    with open(files['json'], 'w') as f:
        json.dump(dict(classes=list(classes), thresholds=thresholds,
                       predictions=records, errors=list(errors)), f, indent=1)
    with open(files['csv'], 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['image', 'labels', *classes])
        for p, row, lab in zip(paths, scores, labels):
            writer.writerow([p, ';'.join(c for c, _ in lab),
                             *(f'{s:.6f}' for s in row)])
    return files


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
    written ``files``.

    Raises:
        BadImageError: With ``--strict``, at the first bad image.
    """
    args = parse_args(argv)
    paths = expand_inputs(args.images)
    backend = make_backend(args.config, args.checkpoint, args.device, args.precision)
    if isinstance(backend, PytorchBackend) and not fixes_input_size(
            backend.config.test_dataloader.dataset.pipeline):
        print(f'note: the test pipeline ({PIPELINE_KEY}) has no Resize to a fixed scale: '
              'each image is predicted at its own size; add '
              "dict(type='Resize', scale=(W, H)) before PackInputs to predict at the "
              'training size')
    thr_arg: Optional[Union[float, str]] = args.thresholds
    if thr_arg is not None:
        try:
            thr_arg = float(thr_arg)
        except ValueError:
            pass  # a file
    else:
        thr_arg = backend.default_thresholds
    thresholds = load_thresholds(thr_arg, num_classes=len(backend.classes),
                                 classes=backend.classes)
    scores, predicted, errors = predict_images(
        backend, paths, args.batch_size, progress=not args.no_progress, strict=args.strict)
    labels = decide(scores, thresholds, backend.classes)
    for p, lab in zip(predicted, labels):
        text = ', '.join(f'{c} ({s:.3f})' for c, s in lab) or '-'
        print(f'{p}: {text}')
    files = write_outputs(args.out_dir, predicted, scores, labels,
                          backend.classes, thresholds, errors)
    for err in errors:
        print(f"skipped {err['image']}: {err['error']}", file=sys.stderr)
    print(f"{len(predicted)} of {len(paths)} images predicted; written to {files['json']} "
          f"and {files['csv']}")
    return dict(paths=predicted, scores=scores, labels=labels,
                thresholds=thresholds, errors=errors, files=files)


if __name__ == '__main__':
    try:
        result = main()
    except BadImageError as e:
        sys.exit(f'error: {e} (--strict)')
    sys.exit(1 if result['errors'] else 0)
