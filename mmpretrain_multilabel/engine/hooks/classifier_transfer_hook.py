"""Start the classifier from the backbone's ImageNet classifier, mapped to the
dataset's classes through their names (:mod:`...graph.label_transfer`)."""
import copy
from typing import Dict, Iterable, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import CheckpointLoader, Runner
from mmpretrain.datasets.categories import IMAGENET_CATEGORIES
from mmpretrain.registry import HOOKS

from ...graph import labels_to_multihot
from ...graph.label_transfer import transfer_classifier
from ...graph.word_vectors import load_word_vectors
from ...models.utils import offline_classifier
from ...models.utils.linear_probe import ProbeStats, fit_probe


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


def probe_loader(cfg, seed: Optional[int] = None):
    """The training images without augmentation: ``cfg.train_dataloader``
    in order, its dataset's pipeline replaced by the validation (else test)
    pipeline.

    Args:
        cfg (Config): The run's config.
        seed (int, optional): Seed of the data loader's workers.

    Returns:
        DataLoader | None: ``None`` where the config has no evaluation
        pipeline or the training dataset is a wrapper without a pipeline of
        its own.
    """
    evaluation = cfg.get('val_dataloader') or cfg.get('test_dataloader')
    train = copy.deepcopy(cfg.get('train_dataloader'))
    if not evaluation or not train or 'pipeline' not in train.get('dataset', {}):
        return None
    train['dataset']['pipeline'] = copy.deepcopy(evaluation['dataset']['pipeline'])
    train['sampler'] = dict(type='DefaultSampler', shuffle=False)
    train.pop('batch_sampler', None)
    train['persistent_workers'] = False  # one pass: no workers kept for the run
    return Runner.build_dataloader(train, seed=seed)


@torch.no_grad()
def probe_stats(model, loader: Iterable, max_iters: Optional[int] = None) -> ProbeStats:
    """Sums of the pooled backbone features and labels of ``loader``'s
    images, as ``model``'s head starts from them: the last map
    average-pooled, or max-pooled where the head pools by max
    (``head.start_pooling``), L2-normalised for a cosine head. The model runs
    in eval mode (no batch augmentation), then returns to its mode.

    Args:
        model (BaseModel): The classifier (not a DDP wrapper).
        loader (Iterable): Batches of MMPretrain samples.
        max_iters (int, optional): At most this many batches.

    Returns:
        ProbeStats: The sums.

    Raises:
        ValueError: If the loader gives no batch.
    """
    head = model.head
    pooling = getattr(head, 'start_pooling', 'avg')
    normalize = getattr(head, 'normalized', False)
    stats = None
    was_training = model.training
    model.eval()
    try:
        for i, batch in enumerate(loader):
            if max_iters is not None and i >= max_iters:
                break
            x = model.backbone(model.data_preprocessor(batch, False)['inputs'])
            x = (x[-1] if isinstance(x, (tuple, list)) else x).float()
            if x.dim() == 4:
                x = x.amax((2, 3)) if pooling == 'max' else x.mean((2, 3))
            if normalize:
                x = F.normalize(x, dim=1)
            y = torch.from_numpy(labels_to_multihot(
                [s.gt_label.tolist() for s in batch['data_samples']], head.num_classes))
            if stats is None:
                stats = ProbeStats(x.shape[1], head.num_classes)
            stats.add(x, y)
    finally:
        model.train(was_training)
    if stats is None:
        raise ValueError('ClassifierTransferHook(linear_probe=True): the training '
                         'dataloader gave no batch')
    return stats


@HOOKS.register_module()
class ClassifierTransferHook(Hook):
    """Initialise the head's last linear layer from a pretrained classifier
    through class names, once, before the first training iteration.

    Each dataset class starts as a softmax-weighted mixture of the source
    (ImageNet) classes whose names are nearest in word-vector space
    (:func:`~...graph.label_transfer.transfer_classifier`). Not in the paper
    (arXiv 2209.06585): with 84 training photos of COCO, this start alone
    ranks held-out photos better than a model trained from a random head
    (44.2 against 37.9 mAP; docs/results.md). With ``linear_probe=True`` the
    transferred classifier is then fitted in closed form to the training
    labels (:func:`probe_stats`, :func:`~...models.utils.linear_probe.fit_probe`):
    on coco319's held-out folds that start ranks photos at 48.5 mAP instead of
    37.3, before any training. A run that resumes or loads a checkpoint
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
        linear_probe (bool): Then fit the start to the training labels: the
            ridge probe toward the transferred classifier on the pooled
            features of the training images, through the validation
            pipeline (:func:`probe_loader`; else the training dataloader)
            (:mod:`...models.utils.linear_probe`; LP-FT, Kumar et al. 2022,
            https://arxiv.org/abs/2202.10054). Defaults to False.
        probe_iters (int, optional): At most this many batches of them
            (default: all).
    """

    priority = 'VERY_HIGH'

    def __init__(self, source: str = 'offline://efficientnet_lite0',
                 prefix: str = 'classifier.',
                 source_classes: Optional[Sequence[str]] = None,
                 word_vectors: str = 'glove-6b-50d', temperature: float = 0.05,
                 aliases: Optional[Dict[str, str]] = None,
                 linear_probe: bool = False, probe_iters: Optional[int] = None):
        if temperature <= 0:
            raise ValueError(f'ClassifierTransferHook: temperature must be > 0, got '
                             f'{temperature}')
        if probe_iters is not None and (not isinstance(probe_iters, int) or probe_iters < 1):
            raise ValueError(f'ClassifierTransferHook: probe_iters must be a positive int '
                             f'(batches of the probe) or None (all), got {probe_iters!r}')
        self.source = source
        self.prefix = prefix
        self.source_classes = list(source_classes or IMAGENET_CATEGORIES)
        self.word_vectors = word_vectors
        self.temperature = temperature
        self.aliases = aliases
        self.linear_probe = linear_probe
        self.probe_iters = probe_iters

    def before_train(self, runner) -> None:
        if getattr(runner, '_has_loaded', False) or runner.iter > 0:
            runner.logger.info('ClassifierTransferHook: the model was loaded from a '
                               'checkpoint; its classifier is kept')
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        classes = runner.train_dataloader.dataset.metainfo['classes']
        loader = None
        if self.linear_probe:
            loader = probe_loader(runner.cfg, runner.seed) or runner.train_dataloader
        report = self.transfer(model, classes, loader)
        shown = '; '.join(f'{c}: ' + ', '.join(f'{n} {w:.2f}' for n, w in top[:2])
                          for c, top in list(report.items())[:5])
        runner.logger.info(
            f'ClassifierTransferHook: {len(classes)} classes initialised from '
            f'{len(self.source_classes)} classes of {self.source} through '
            f'{self.word_vectors} (temperature {self.temperature}); e.g. {shown}')
        if self.linear_probe:
            runner.logger.info(
                'ClassifierTransferHook: then fitted to the labels of '
                f'{self.probe_report["images"]} training images (ridge probe toward the '
                f'transferred classifier, strength {self.probe_report["ridge"]:.3g} by '
                'generalised cross-validation)')

    def transfer(self, model, classes: Sequence[str],
                 loader: Optional[Iterable] = None) -> Dict[str, list]:
        """Start ``model``'s head as the transferred classifier of ``classes``
        (with ``linear_probe``, the probe fitted toward it on ``loader``'s
        images); returns the report of
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
        if self.linear_probe:
            new_w, new_b = self.probe(model, new_w, loader)
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

    def probe(self, model, prior: torch.Tensor,
              loader: Optional[Iterable]) -> Tuple[torch.Tensor, torch.Tensor]:
        """The ridge probe toward ``prior`` (rows normalised for a cosine
        head) on ``loader``'s images, summed over all processes."""
        if loader is None:
            raise ValueError('ClassifierTransferHook(linear_probe=True) needs the training '
                             'dataloader')
        if getattr(model.head, 'normalized', False):
            prior = F.normalize(prior, dim=1)
        stats = probe_stats(model, loader, self.probe_iters)
        if get_world_size() > 1:
            for tensor in stats.tensors():
                all_reduce(tensor, op='sum')
        weight, bias, lam = fit_probe(stats, prior)
        self.probe_report = dict(images=int(stats.n), ridge=lam)
        return weight, bias
