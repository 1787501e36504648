"""A multilabel inferencer with MMPretrain's inferencer API.

MMPretrain's ``ImageClassificationInferencer`` returns one argmax label per
image (single-label by design; MMPretrain issue #1911 asks how to infer
multilabel images). :class:`MultiLabelClassificationInferencer` keeps its
calling convention (``inferencer(images)``, ``pretrained=``, ``show_dir=``,
``batch_size=``, ``return_datasamples=``) and returns each image's label set:
every class whose score reaches its threshold, best first, with the scores
and the per-class thresholds used. It is registered in MMEngine's
``INFERENCERS`` (``INFERENCERS.build(dict(type='MultiLabelClassificationInferencer',
model=..., pretrained=...))``).

The pieces it shares with ``tools/infer.py`` (:mod:`.inference`) live here:
reading an image file with a clear error (:func:`read_image`), the config's
test pipeline (:func:`test_transforms`, :func:`build_test_pipeline`) and the
threshold decision (:func:`decide_indices`, :func:`decide`).
"""
import copy
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmcv.image import imfrombytes
from mmengine.config import Config
from mmengine.dataset import Compose, default_collate
from mmengine.registry import INFERENCERS, DefaultScope
from mmpretrain.apis import ImageClassificationInferencer
from mmpretrain.registry import TRANSFORMS
from mmpretrain.structures import DataSample

from ..utils import load_thresholds
from .label_graphs import prepare_label_graphs

#: Thresholds as given: one number, K numbers, or a thresholds JSON file.
ThresholdsArg = Union[None, float, Sequence[float], str]


# ------------------------------------------------------------- image input --
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


def image_input(item: Union[str, np.ndarray]) -> dict:
    """An inferencer input as the results of a loading step: a path is read
    with :func:`read_image`, an array (BGR, as ``mmcv.imread``) is taken as
    it is."""
    if isinstance(item, np.ndarray):
        return dict(img=item, img_shape=item.shape[:2], ori_shape=item.shape[:2])
    return read_image(str(item))


def fixes_input_size(pipeline: Sequence[dict]) -> bool:
    """Whether a test pipeline brings every image to one size: a crop or a
    ``Resize`` to a fixed scale without ``keep_ratio``."""
    return any(step.get('crop_size') is not None
               or (str(step.get('type', '')).split('.')[-1] == 'Resize'
                   and step.get('scale') is not None and not step.get('keep_ratio', False))
               for step in pipeline)


def test_transforms(cfg: Config, input_size: Optional[Tuple[int, int]] = None) -> Compose:
    """The config's test pipeline without its loading step (the
    ``LoadImageFromFile`` variants): a function of :func:`read_image`'s
    results.

    With ``input_size`` (``(H, W)``) and a pipeline that does not fix the
    size (:func:`fixes_input_size`), a ``Resize`` to it goes before the last
    step (``PackInputs``).
    """
    steps = [dict(s) for s in cfg.test_dataloader.dataset.pipeline
             if not str(s.get('type', '')).endswith('LoadImageFromFile')]
    if input_size is not None and not fixes_input_size(steps):
        steps.insert(len(steps) - 1, dict(type='Resize', scale=(input_size[1], input_size[0])))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return Compose([TRANSFORMS.build(s) for s in steps])


def build_test_pipeline(cfg: Config,
                        input_size: Optional[Tuple[int, int]] = None) -> Callable[[str], dict]:
    """The config's test pipeline as a function of an image path
    (:func:`read_image`, then :func:`test_transforms`)."""
    return Compose([read_image, test_transforms(cfg, input_size)])


# ----------------------------------------------------------------- decision --
def decide_indices(scores: np.ndarray,
                   thresholds: Union[float, Sequence[float]]) -> List[np.ndarray]:
    """Per image, the indices of the classes whose score reaches their
    threshold (``score >= thr``, as MMPretrain's heads), best first.

    Args:
        scores (np.ndarray): ``(N, K)`` scores in [0, 1].
        thresholds (float | Sequence[float]): One threshold or K.

    Returns:
        list[np.ndarray]: N int64 index arrays.
    """
    scores = np.asarray(scores)
    thr = np.broadcast_to(np.asarray(thresholds, np.float64), (scores.shape[1], ))
    out = []
    for row in scores:
        idx = np.nonzero(row.astype(np.float64) >= thr)[0]
        out.append(idx[np.argsort(-row[idx], kind='stable')].astype(np.int64))
    return out


def decide(scores: np.ndarray, thresholds: Union[float, Sequence[float]],
           classes: Sequence[str]) -> List[List[Tuple[str, float]]]:
    """Per image, ``(class, score)`` for ``score >= threshold``, best
    first (:func:`decide_indices`)."""
    return [[(classes[i], float(row[i])) for i in idx]
            for row, idx in zip(scores, decide_indices(scores, thresholds))]


def head_thresholds(head: torch.nn.Module) -> Union[None, float, List[float]]:
    """The thresholds a multilabel head applies: its ``thr`` (one number, or
    per class: a list or the buffer of the plugin's heads), None when it
    predicts its top-k instead."""
    thr = getattr(head, 'thr', None)
    if thr is None:
        return None
    if isinstance(thr, torch.Tensor):
        return float(thr) if thr.dim() == 0 else [float(v) for v in thr.tolist()]
    if isinstance(thr, (int, float)):
        return float(thr)
    return [float(v) for v in thr]


def resolve_inference_thresholds(thresholds: ThresholdsArg, head: torch.nn.Module,
                                 num_classes: int, classes: Optional[Sequence[str]] = None,
                                 config_thr: ThresholdsArg = None) -> Optional[List[float]]:
    """The K per-class thresholds an inferencer applies.

    Args:
        thresholds: Given thresholds (one number, K numbers or a thresholds
            JSON of class name -> threshold, read in class order), or None
            for the model's own: the thresholds file its config's head names
            (``config_thr``), else its head's ``thr`` (one value, or K from
            the config's list).
        head: The model's head.
        num_classes (int): K.
        classes (Sequence[str], optional): Class names; a thresholds file
            must name exactly these.
        config_thr: The config's ``model.head.thr``.

    Returns:
        list[float] | None: K thresholds, or None for a head that predicts
        its top-k (``thr=None, topk=k``) when none are given.

    Raises:
        ValueError: A file of other classes, a list of another length, or a
            value outside [0, 1].
    """
    if thresholds is None:
        thresholds = config_thr if isinstance(config_thr, str) else head_thresholds(head)
        if thresholds is None:
            return None
    values = load_thresholds(thresholds, num_classes=num_classes,
                             classes=classes if isinstance(thresholds, str) else None)
    return [values] * num_classes if isinstance(values, float) else values


def prediction_record(sample: DataSample, thresholds: Optional[List[float]],
                      classes: Optional[Sequence[str]]) -> dict:
    """One image's result: its label set (``pred_label`` ids, ``pred_score``
    and ``pred_class`` lists, best first), all ``pred_scores`` and the
    ``thresholds`` used (None: the head's top-k)."""
    scores = sample.pred_score.detach().float().cpu().numpy()
    labels = [int(i) for i in sample.pred_label.tolist()]
    record = dict(pred_scores=scores, pred_label=labels,
                  pred_score=[float(scores[i]) for i in labels], thresholds=thresholds)
    if classes is not None:
        record['pred_class'] = [classes[i] for i in labels]
    return record


# --------------------------------------------------------------- inferencer --
@INFERENCERS.register_module()
class MultiLabelClassificationInferencer(ImageClassificationInferencer):
    """Multilabel inference with MMPretrain's inferencer API.

    Args:
        model (str | Config | BaseModel): A config file, a config or a built
            model (as ``ImageClassificationInferencer``; a config's label
            graphs are built first, see :func:`~.label_graphs.prepare_label_graphs`).
        pretrained (str | bool): Checkpoint to load; its ``dataset_meta``
            gives the class names. Defaults to True (the config's
            ``load_from``).
        device (str, optional): Torch device; None picks one.
        classes (Sequence[str], optional): Class names instead of the
            checkpoint's.
        thresholds (float | Sequence[float] | str, optional): One threshold,
            K thresholds or a thresholds JSON (class name -> threshold, as
            ``tools/tune_thresholds.py`` writes). None: the model's own, its
            head's ``thr`` in the checkpoint's config (0.5 by default; per
            class where the config gives a list or a thresholds file).
        **kwargs: Passed to ``ImageClassificationInferencer``.

    Calling it, ``inferencer(images, batch_size=1, show_dir=None,
    return_datasamples=False)``, returns per image a dict with
    ``pred_label`` (class indices of the label set, best first),
    ``pred_score`` (their scores), ``pred_class`` (their names, when the
    classes are known), ``pred_scores`` (all K scores) and ``thresholds``
    (the K thresholds used). ``show_dir`` draws the label sets. An empty
    label set is an image with no class above its threshold.

    Example:
        >>> from mmpretrain_multilabel.apis import MultiLabelClassificationInferencer
        >>> inferencer = MultiLabelClassificationInferencer(
        ...     'configs/demo/lite0_cosine-aam-recipe_1xb32_demo-128px.py',
        ...     pretrained='work_dirs/demo/best.pth', thresholds='thresholds.json')
        >>> inferencer(['a.jpg', 'b.jpg'])[0]['pred_class']
        ['sun', 'cloud']
    """

    def __init__(self, model, pretrained: Union[bool, str] = True, device=None,
                 classes: Optional[Sequence[str]] = None, thresholds: ThresholdsArg = None,
                 **kwargs) -> None:
        if isinstance(model, str) and model.endswith('.py'):
            model = Config.fromfile(model)
        if isinstance(model, Config):
            model = prepare_label_graphs(copy.deepcopy(model))
        super().__init__(model=model, pretrained=pretrained, device=device, classes=classes,
                         **kwargs)
        if self.classes is not None:
            self.classes = list(self.classes)
        head_cfg = self.config.get('model', {}).get('head') or {}
        self.thresholds = resolve_inference_thresholds(
            thresholds, self.model.head, self.num_classes, self.classes, head_cfg.get('thr'))

    @property
    def num_classes(self) -> int:
        """K, from the head."""
        return int(self.model.head.num_classes)

    def _init_pipeline(self, cfg: Config) -> Callable:
        return test_transforms(cfg)

    def preprocess(self, inputs: List, batch_size: int = 1):
        """Read the images (paths with :func:`read_image`, arrays as they
        are), run the test transforms and collate ``batch_size`` of them."""
        pipeline = Compose([image_input, self.pipeline])
        yield from map(default_collate, self._get_chunk_data(map(pipeline, inputs), batch_size))

    @torch.no_grad()
    def forward(self, inputs: dict, **kwargs) -> List[DataSample]:
        """The model's predictions with ``pred_label`` set to each image's
        label set under :attr:`thresholds` (what ``show_dir`` draws)."""
        preds = self.model.test_step(inputs)
        if self.thresholds is not None:
            scores = torch.stack([p.pred_score for p in preds]).float().cpu().numpy()
            for sample, idx in zip(preds, decide_indices(scores, self.thresholds)):
                sample.set_pred_label(torch.from_numpy(idx))
        return preds

    def postprocess(self, preds: List[DataSample], visualization, return_datasamples=False):
        if return_datasamples:
            return preds
        return [prediction_record(p, self.thresholds, self.classes) for p in preds]
