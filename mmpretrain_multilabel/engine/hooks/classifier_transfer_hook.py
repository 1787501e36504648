"""Start the classifier from the backbone's ImageNet classifier, mapped to the
dataset's classes through their names (:mod:`...graph.label_transfer`)."""
from typing import Dict, Optional, Sequence

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import CheckpointLoader
from mmpretrain.datasets.categories import IMAGENET_CATEGORIES
from mmpretrain.registry import HOOKS

from ...graph.label_transfer import transfer_classifier
from ...graph.word_vectors import load_word_vectors
from ...models.utils import offline_classifier


def source_classifier(source: str, prefix: str = 'classifier.'):
    """``(weight [M, C], bias [M])`` of a pretrained classifier: an offline
    checkpoint (``'offline://efficientnet_lite0'``) or a checkpoint file whose
    state dict holds ``{prefix}weight`` and ``{prefix}bias``."""
    if source.startswith('offline://'):
        return offline_classifier(source)
    ckpt = CheckpointLoader.load_checkpoint(source, map_location='cpu')
    state = ckpt.get('state_dict', ckpt)
    missing = [prefix + k for k in ('weight', 'bias') if prefix + k not in state]
    if missing:
        raise KeyError(f'{source} has no {missing} (its keys include '
                       f'{sorted(state)[-3:]}); set the hook\'s `prefix`')
    return state[prefix + 'weight'], state[prefix + 'bias']


@HOOKS.register_module()
class ClassifierTransferHook(Hook):
    """Initialise the head's last linear layer from a pretrained classifier
    through class names, once, before the first training iteration.

    Each dataset class starts as a softmax-weighted mixture of the source
    (ImageNet) classes whose names are nearest in word-vector space
    (:func:`~...graph.label_transfer.transfer_classifier`). Not in the paper
    (arXiv 2209.06585): with 84 training photos of COCO, this start alone
    ranks held-out photos better than a model trained from a random head
    (44.2 against 37.9 mAP; docs/results.md). A run that resumes or loads a checkpoint
    (``resume``, ``load_from``) keeps the loaded classifier.

    Works on the backbone whose classifier is the source, with heads whose
    classifier is ``head.fc`` (MMPretrain's ``MultiLabelLinearClsHead``,
    :class:`MultiLabelCosineClsHead`: the same pooled feature) and with the
    heads that carry a pooled classifier through their own layers
    (:class:`MLDecoderHead`, with or without the GAT re-weighting before it,
    and :class:`MLGCNHead`; :mod:`...models.heads.pooled_start`).

    Args:
        source (str): The classifier: ``'offline://efficientnet_lite0'`` or a
            checkpoint file. Defaults to ``'offline://efficientnet_lite0'``.
        prefix (str): Key prefix of the classifier in a checkpoint file.
            Defaults to ``'classifier.'`` (timm).
        source_classes (Sequence[str], optional): Names of the source classes,
            synonyms separated by commas. Defaults to MMPretrain's
            ``IMAGENET_CATEGORIES``.
        word_vectors (str): Word-vector source (see
            :func:`~...graph.word_vectors.load_word_vectors`). Defaults to
            ``'glove-6b-50d'``.
        temperature (float): Softmax temperature over name similarity.
            Defaults to 0.05.
        aliases (dict, optional): Extra ``class name -> words`` replacements.
    """

    priority = 'VERY_HIGH'

    def __init__(self, source: str = 'offline://efficientnet_lite0',
                 prefix: str = 'classifier.',
                 source_classes: Optional[Sequence[str]] = None,
                 word_vectors: str = 'glove-6b-50d', temperature: float = 0.05,
                 aliases: Optional[Dict[str, str]] = None):
        if temperature <= 0:
            raise ValueError(f'ClassifierTransferHook: temperature must be > 0, got '
                             f'{temperature}')
        self.source = source
        self.prefix = prefix
        self.source_classes = list(source_classes or IMAGENET_CATEGORIES)
        self.word_vectors = word_vectors
        self.temperature = temperature
        self.aliases = aliases

    def before_train(self, runner) -> None:
        if getattr(runner, '_has_loaded', False) or runner.iter > 0:
            runner.logger.info('ClassifierTransferHook: the model was loaded from a '
                               'checkpoint; its classifier is kept')
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        classes = runner.train_dataloader.dataset.metainfo['classes']
        report = self.transfer(model, classes)
        shown = '; '.join(f'{c}: ' + ', '.join(f'{n} {w:.2f}' for n, w in top[:2])
                          for c, top in list(report.items())[:5])
        runner.logger.info(
            f'ClassifierTransferHook: {len(classes)} classes initialised from '
            f'{len(self.source_classes)} classes of {self.source} through '
            f'{self.word_vectors} (temperature {self.temperature}); e.g. {shown}')

    def transfer(self, model, classes: Sequence[str]) -> Dict[str, list]:
        """Start ``model``'s head as the transferred classifier of ``classes``;
        returns the report of
        :func:`~...graph.label_transfer.transfer_classifier`.

        A head with a linear ``fc`` on pooled features takes the classifier
        as its ``fc``; a head with ``init_from_pooled_classifier``
        (ML-Decoder, ML-GCN) carries it through its own layers. A neck with
        fixed channel weights before the head (the GAT re-weighting,
        ``channel_weights()``) is divided out of the classifier, so the head
        ranks the re-weighted map as the source ranks the plain one.
        """
        head = model.head
        fc = getattr(head, 'fc', None)
        start = getattr(head, 'init_from_pooled_classifier', None)
        if not isinstance(fc, torch.nn.Linear) and start is None:
            raise TypeError(f'ClassifierTransferHook needs a head with a linear `fc` '
                            f'classifier or an `init_from_pooled_classifier` method; '
                            f'{type(head).__name__} has neither')
        weight, bias = source_classifier(self.source, self.prefix)
        new_w, new_b, report = transfer_classifier(
            classes, self.source_classes, load_word_vectors(self.word_vectors),
            weight.numpy(), bias.numpy(), self.temperature, self.aliases)
        new_w, new_b = torch.from_numpy(new_w), torch.from_numpy(new_b)
        num, width = (fc.weight.shape if start is None
                      else (head.num_classes, head.in_channels))
        if new_w.shape != (num, width):
            raise ValueError(f'ClassifierTransferHook: {self.source} gives a '
                             f'{new_w.shape[1]}-d classifier of {len(classes)} classes, the '
                             f'head takes {width}-d features and {num} classes; the '
                             'backbone must be the source\'s and the head\'s num_classes '
                             'the dataset\'s')
        channel_weights = getattr(getattr(model, 'neck', None), 'channel_weights', None)
        if channel_weights is not None:
            with torch.no_grad():
                new_w = new_w / channel_weights().float().cpu().clamp_min(1e-6)
        if start is not None:
            start(new_w, new_b)
            return report
        with torch.no_grad():
            fc.weight.copy_(new_w)
            if fc.bias is not None:
                fc.bias.copy_(new_b)
        return report
