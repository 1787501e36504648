"""Multilabel inference on image files, folders or globs (``tools/infer.py``).

Images go through the config's test pipeline (loading included) and are
batched with the images of the same shape; the scores come from a
:class:`Backend`: :class:`PytorchBackend` runs a checkpoint (through
:class:`~.inferencer.MultiLabelClassificationInferencer`, the multilabel
inferencer with MMPretrain's API), :class:`ExportedBackend` an
exported model (``.onnx`` or ``.xml`` from ``tools/deployment/export.py``, in
its runtime of :mod:`mmpretrain_multilabel.deployment.runtime`) on the same
preprocessed batches (the config's test pipeline and data preprocessor),
with the class names and thresholds stored at export. :func:`decide` turns
scores into labels and :func:`write_outputs` writes ``predictions.json`` and
``predictions.csv``.

Image sizes: the shipped configs resize in their test pipeline. With a
pipeline that does not (no ``Resize`` without ``keep_ratio``, no crop in
``test_dataloader.dataset.pipeline``), a checkpoint predicts every image at
its own size, and an exported model's input size is appended to the
pipeline (it takes no other).

Bad files: an image that cannot be read or decoded is named in a warning,
listed in ``errors`` and skipped; ``strict`` stops at the first one instead.
"""
import csv
import glob
import json
import os
import os.path as osp
import warnings
from abc import ABCMeta, abstractmethod
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS

from ..deployment import (
    DEFAULT_PRECISION,
    ExportedModel,
    data_preprocessor_cfg,
    load_exported,
)
from ..deployment.runtime import RUNTIMES
from ..utils import load_thresholds
from .inferencer import (
    MultiLabelClassificationInferencer,
    build_test_pipeline,
    decide,
    fixes_input_size,
)
from .launch import load_config

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
    """A checkpoint of a config, through
    :class:`~.inferencer.MultiLabelClassificationInferencer` (the model, its
    class names and its own thresholds).

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
        self.inferencer = MultiLabelClassificationInferencer(
            model=load_config(config), pretrained=checkpoint, device=device)
        self.config = self.inferencer.config
        classes = self.inferencer.classes
        if classes is None:
            raise ValueError(f'{checkpoint}: no class names in the checkpoint'
                             ' meta nor in the config test dataset')
        self.classes = list(classes)
        # the model's own thresholds (0.5 for a head that predicts its top-k)
        self.default_thresholds = self.inferencer.thresholds or 0.5
        self.pipeline = build_test_pipeline(self.config)

    def predict(self, batch: dict) -> np.ndarray:
        preds = self.inferencer.forward(batch)
        return torch.stack([p.pred_score for p in preds]).float().cpu(
        ).numpy()


class ExportedBackend(Backend):
    """An exported model of a config: the config's test pipeline (with the
    exported input size when the pipeline fixes none) and data
    preprocessor, then the model in its runtime
    (:func:`~mmpretrain_multilabel.deployment.load_exported`: ONNX Runtime
    for ``.onnx``, OpenVINO for ``.xml``); classes and default thresholds
    from the model's metadata.

    Args:
        config (str): Config file the model was exported from.
        model (str): The exported model.
        device (str): The runtime's device. Defaults to ``'cpu'``.
        precision (str): Inference precision (``fp32``, ``bf16``,
            ``fp16``; OpenVINO only other than fp32). Defaults to ``'fp32'``.
    """

    def __init__(self, config: str, model: str, device: str = 'cpu',
                 precision: str = DEFAULT_PRECISION):
        self.model: ExportedModel = load_exported(model, device, precision=precision)
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


def make_backend(config: str, checkpoint: str, device: str = 'cpu',
                 precision: str = DEFAULT_PRECISION) -> Backend:
    """:class:`ExportedBackend` for an exported model (a suffix of
    :data:`~mmpretrain_multilabel.deployment.runtime.RUNTIMES`: ``.onnx``,
    ``.xml``), else :class:`PytorchBackend`."""
    suffix = osp.splitext(checkpoint)[1].lower()
    backend = ExportedBackend if suffix in RUNTIMES else PytorchBackend
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


def parse_thresholds(value: Optional[str]) -> Optional[Union[float, str]]:
    """A ``--thresholds`` value: one number, or a thresholds JSON path."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return value


def size_note(backend: Backend) -> Optional[str]:
    """A note for a checkpoint whose test pipeline has no fixed-size
    ``Resize`` (each image is then predicted at its own size), else None."""
    if isinstance(backend, PytorchBackend) and not fixes_input_size(
            backend.config.test_dataloader.dataset.pipeline):
        return (f'the test pipeline ({PIPELINE_KEY}) has no Resize to a fixed scale: each '
                "image is predicted at its own size; add dict(type='Resize', scale=(W, H)) "
                'before PackInputs to predict at the training size')
    return None


def infer_images(backend: Backend, images: Sequence[str],
                 thresholds: Optional[Union[float, str]] = None,
                 out_dir: Optional[str] = None, batch_size: int = 8, strict: bool = False,
                 progress: bool = True) -> dict:
    """Labels and scores of images, written to ``out_dir``.

    Args:
        backend (Backend): The model (:func:`make_backend`).
        images (Sequence[str]): Files, folders or glob patterns
            (:func:`expand_inputs`).
        thresholds (float | str, optional): One threshold or a thresholds
            JSON; None: the backend's default (the head's ``thr``, or the
            exported model's stored thresholds).
        out_dir (str, optional): Where ``predictions.json`` / ``.csv`` go;
            None: nothing is written.
        batch_size (int): Images per batch.
        strict (bool): Raise :class:`BadImageError` at the first bad image.
        progress (bool): Show a progress bar.

    Returns:
        dict: ``paths``, ``scores``, ``labels`` (per image ``(class,
        score)`` above threshold, best first) and ``thresholds`` of the
        predicted images, ``errors`` of the skipped ones, the ``files``
        written and the number of ``inputs``.
    """
    paths = expand_inputs(images)
    if thresholds is None:
        thresholds = backend.default_thresholds
    thresholds = load_thresholds(thresholds, num_classes=len(backend.classes),
                                 classes=backend.classes)
    scores, predicted, errors = predict_images(backend, paths, batch_size, progress=progress,
                                               strict=strict)
    labels = decide(scores, thresholds, backend.classes)
    files = {} if out_dir is None else write_outputs(
        out_dir, predicted, scores, labels, backend.classes, thresholds, errors)
    return dict(paths=predicted, scores=scores, labels=labels, thresholds=thresholds,
                errors=errors, files=files, inputs=len(paths))
