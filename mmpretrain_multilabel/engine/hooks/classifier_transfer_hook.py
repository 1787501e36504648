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

    Works with heads whose classifier is ``head.fc`` (MMPretrain's
    ``MultiLabelLinearClsHead``, :class:`MultiLabelCosineClsHead`) on the
    backbone whose classifier is the source (the same pooled feature).

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
        """Set ``model.head.fc`` to the transferred classifier of ``classes``;
        returns the report of
        :func:`~...graph.label_transfer.transfer_classifier`."""
        fc = getattr(model.head, 'fc', None)
        if not isinstance(fc, torch.nn.Linear):
            raise TypeError(f'ClassifierTransferHook needs a head with a linear `fc` '
                            f'classifier; {type(model.head).__name__} has none')
        weight, bias = source_classifier(self.source, self.prefix)
        new_w, new_b, report = transfer_classifier(
            classes, self.source_classes, load_word_vectors(self.word_vectors),
            weight.numpy(), bias.numpy(), self.temperature, self.aliases)
        if new_w.shape != tuple(fc.weight.shape):
            raise ValueError(f'ClassifierTransferHook: {self.source} gives a '
                             f'{new_w.shape[1]}-d classifier, the head takes '
                             f'{fc.weight.shape[1]}-d features and {fc.weight.shape[0]} '
                             'classes; the backbone must be the source\'s')
        with torch.no_grad():
            fc.weight.copy_(torch.from_numpy(new_w))
            if fc.bias is not None:
                fc.bias.copy_(torch.from_numpy(new_b))
        return report
