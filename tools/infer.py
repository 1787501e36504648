"""Multilabel inference on image files, folders or globs.

Prints one line per image (labels whose score reaches the class threshold,
with scores) and writes ``predictions.json`` and ``predictions.csv``::

    python tools/infer.py CONFIG CHECKPOINT demo/*.png more/ one.jpg \\
        --thresholds thresholds.json --out-dir work_dirs/infer

Images go through the config's test pipeline in batches (MMPretrain's
``ImageClassificationInferencer`` does the loading and preprocessing); the
scores come from a :class:`Backend`. :class:`PytorchBackend` runs the
checkpoint; for an exported model (CHECKPOINT ending in ``.onnx`` or ``.xml``,
from ``tools/deployment/export.py``) :class:`OnnxBackend` /
:class:`OpenVINOBackend` run it on the same preprocessed batches (the
config's test pipeline and data preprocessor), with the class names and
thresholds stored at export::

    python tools/infer.py CONFIG model.onnx demo/ --out-dir work_dirs/infer
"""
import argparse
import csv
import glob
import json
import os
import os.path as osp
import sys
from abc import ABCMeta, abstractmethod
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Type, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpretrain.apis import ImageClassificationInferencer
from mmpretrain.registry import MODELS

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
import mmpretrain_multilabel  # noqa: E402,F401  registers the components
from mmpretrain_multilabel.deployment import (  # noqa: E402
    ExportedModel,
    OnnxModel,
    OpenVINOModel,
    config_thresholds,
    data_preprocessor_cfg,
)
from mmpretrain_multilabel.utils import load_thresholds  # noqa: E402

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff',
                    '.webp', '.ppm', '.pgm')


def expand_inputs(items: Sequence[str]) -> List[str]:
    """Image paths from files, folders (their image files, sorted, not
    recursive) and glob patterns (``**`` recursive); duplicates dropped.

    Raises:
        FileNotFoundError: An item matches no image.
    """
    paths: Dict[str, None] = {}
    for item in items:
        if osp.isdir(item):
            found = sorted(
                osp.join(item, f) for f in os.listdir(item)
                if f.lower().endswith(IMAGE_EXTENSIONS)
                and osp.isfile(osp.join(item, f)))
        elif osp.isfile(item):
            found = [item]
        else:
            found = sorted(p for p in glob.glob(item, recursive=True)
                           if osp.isfile(p)
                           and p.lower().endswith(IMAGE_EXTENSIONS))
        if not found:
            raise FileNotFoundError(f'no image found for {item!r}')
        paths.update(dict.fromkeys(found))
    return list(paths)


class Backend(metaclass=ABCMeta):
    """Turns a preprocessed batch into ``(B, K)`` scores in [0, 1].

    Attributes:
        classes: Class names, in score order.
        config: The model config (its test pipeline preprocesses images).
        default_thresholds: Thresholds when ``--thresholds`` is not given.
    """
    classes: List[str]
    config: object
    default_thresholds: Union[float, Sequence[float], str]

    @abstractmethod
    def preprocess(self, paths: List[str],
                   batch_size: int) -> Iterator[dict]:
        """Batches of the test pipeline applied to ``paths``."""

    @abstractmethod
    def predict(self, batch: dict) -> np.ndarray:
        """Scores of a batch yielded by :meth:`preprocess`."""


class PytorchBackend(Backend):
    """A checkpoint of a config, through ``ImageClassificationInferencer``.

    Args:
        config (str): Config file.
        checkpoint (str): Checkpoint file; the classes come from its
            ``dataset_meta``, else from the test dataset's ``METAINFO``.
        device (str): Torch device. Defaults to ``'cpu'``.
    """

    def __init__(self, config: str, checkpoint: str, device: str = 'cpu'):
        self.inferencer = ImageClassificationInferencer(
            model=config, pretrained=checkpoint, device=device)
        self.config = self.inferencer.config
        classes = self.inferencer.classes
        if classes is None:
            raise ValueError(f'{checkpoint}: no class names in the checkpoint'
                             ' meta nor in the config test dataset')
        self.classes = list(classes)
        self.default_thresholds = config_thresholds(self.config)

    def preprocess(self, paths: List[str],
                   batch_size: int) -> Iterator[dict]:
        return self.inferencer.preprocess(paths, batch_size=batch_size)

    def predict(self, batch: dict) -> np.ndarray:
        preds = self.inferencer.forward(batch)
        return torch.stack([p.pred_score for p in preds]).float().cpu(
        ).numpy()


class PipelineOnly(ImageClassificationInferencer):
    """The stock inferencer's image loading and test pipeline, without a
    model (:meth:`preprocess` is the stock one)."""

    def __init__(self, config: Config):  # no super(): it would build the model
        self.config = config
        self.pipeline = self._init_pipeline(config)


class ExportedBackend(Backend):
    """An exported model of a config: the config's test pipeline and data
    preprocessor (as :class:`PytorchBackend`), then the runtime; classes and
    default thresholds from the model's metadata.

    Args:
        config (str): Config file the model was exported from.
        model (str): The exported model.
        device (str): The runtime's device. Defaults to ``'cpu'``.
    """
    runtime: Type[ExportedModel]

    def __init__(self, config: str, model: str, device: str = 'cpu'):
        self.model = self.runtime(model, device)
        self.config = Config.fromfile(config)
        self.classes = self.model.classes
        self.default_thresholds = self.model.thresholds
        self.pipeline = PipelineOnly(self.config)
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            self.data_preprocessor = MODELS.build(data_preprocessor_cfg(self.config))

    def preprocess(self, paths: List[str],
                   batch_size: int) -> Iterator[dict]:
        return self.pipeline.preprocess(paths, batch_size=batch_size)

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


def make_backend(config: str, checkpoint: str, device: str = 'cpu') -> Backend:
    """:class:`OnnxBackend` for ``.onnx``, :class:`OpenVINOBackend` for
    ``.xml``, else :class:`PytorchBackend`."""
    suffix = osp.splitext(checkpoint)[1].lower()
    backend = {'.onnx': OnnxBackend, '.xml': OpenVINOBackend}.get(suffix, PytorchBackend)
    return backend(config, checkpoint, device)


def predict_images(backend: Backend,
                   paths: List[str],
                   batch_size: int = 8,
                   progress: bool = True) -> np.ndarray:
    """``(len(paths), K)`` scores, batch by batch, with a progress bar."""
    from tqdm import tqdm
    scores = []
    with tqdm(total=len(paths), desc='infer', unit='img',
              disable=not progress) as bar:
        for batch in backend.preprocess(paths, batch_size):
            out = backend.predict(batch)
            scores.append(out)
            bar.update(len(out))
    return np.concatenate(scores) if scores else np.zeros(
        (0, len(backend.classes)), np.float32)


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
                  thresholds: Union[float, List[float]]) -> Dict[str, str]:
    """Write ``predictions.json`` and ``predictions.csv``; return paths.

    The JSON holds the classes, thresholds and per image the predicted
    labels with scores and all scores; the CSV one row per image: path,
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
                       predictions=records), f, indent=1)
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
    parser.add_argument('--no-progress', action='store_true',
                        help='hide the progress bar')
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f'--batch-size must be >= 1, got {args.batch_size}')
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    paths = expand_inputs(args.images)
    backend = make_backend(args.config, args.checkpoint, args.device)
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
    scores = predict_images(backend, paths, args.batch_size,
                            progress=not args.no_progress)
    labels = decide(scores, thresholds, backend.classes)
    for p, lab in zip(paths, labels):
        text = ', '.join(f'{c} ({s:.3f})' for c, s in lab) or '-'
        print(f'{p}: {text}')
    files = write_outputs(args.out_dir, paths, scores, labels,
                          backend.classes, thresholds)
    print(f"predictions written to {files['json']} and {files['csv']}")
    return dict(paths=paths, scores=scores, labels=labels,
                thresholds=thresholds, files=files)


if __name__ == '__main__':
    main()
