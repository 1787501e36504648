"""Multilabel inference on image files, folders or globs.

Prints one line per image (labels whose score reaches the class threshold,
with scores) and writes ``predictions.json`` and ``predictions.csv``::

    python tools/infer.py CONFIG CHECKPOINT demo/*.png more/ one.jpg \\
        --thresholds thresholds.json --out-dir work_dirs/infer

Images go through the config's test pipeline in batches (MMPretrain's
``ImageClassificationInferencer`` does the loading and preprocessing); the
scores come from a :class:`Backend`. :class:`PytorchBackend` runs the
checkpoint; another backend (an exported model) only has to implement
``predict`` on the same preprocessed batches.
"""
import argparse
import csv
import glob
import json
import os
import os.path as osp
import sys
from abc import ABCMeta, abstractmethod
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
import mmpretrain_multilabel  # noqa: E402,F401  registers the components
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
    """
    classes: List[str]
    config: object

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
        from mmpretrain.apis import ImageClassificationInferencer
        self.inferencer = ImageClassificationInferencer(
            model=config, pretrained=checkpoint, device=device)
        self.config = self.inferencer.config
        classes = self.inferencer.classes
        if classes is None:
            raise ValueError(f'{checkpoint}: no class names in the checkpoint'
                             ' meta nor in the config test dataset')
        self.classes = list(classes)

    def preprocess(self, paths: List[str],
                   batch_size: int) -> Iterator[dict]:
        return self.inferencer.preprocess(paths, batch_size=batch_size)

    def predict(self, batch: dict) -> np.ndarray:
        preds = self.inferencer.forward(batch)
        return torch.stack([p.pred_score for p in preds]).float().cpu(
        ).numpy()


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


def default_thresholds(config) -> Union[float, Sequence[float], str]:
    """The head's ``thr`` in the config if it has one, else 0.5."""
    head = config.get('model', {}).get('head', None) or {}
    thr = head.get('thr', None) if hasattr(head, 'get') else None
    return 0.5 if thr is None else thr


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Multilabel inference: labels with scores per image')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('images', nargs='+',
                        help='image files, folders or glob patterns')
    parser.add_argument(
        '--thresholds',
        help='thresholds JSON (class -> threshold, from '
        'tools/tune_thresholds.py) or one number; default: the head\'s thr '
        'in the config, else 0.5')
    parser.add_argument('--out-dir', default='work_dirs/infer',
                        help='where predictions.json/.csv go')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--device', default='cpu', help='torch device')
    parser.add_argument('--no-progress', action='store_true',
                        help='hide the progress bar')
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f'--batch-size must be >= 1, got {args.batch_size}')
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    paths = expand_inputs(args.images)
    backend = PytorchBackend(args.config, args.checkpoint, args.device)
    thr_arg: Optional[Union[float, str]] = args.thresholds
    if thr_arg is not None:
        try:
            thr_arg = float(thr_arg)
        except ValueError:
            pass  # a file
    else:
        thr_arg = default_thresholds(backend.config)
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
