"""Build label graphs from datasets: labels, node features, caching.

A config's build spec (``graph=dict(dataset=..., word_vectors=...)``) needs
no manual graph-building step: the graph branch (``GATReweightNeck``,
``MLGCNHead``) turns it into a graph while the model is built
(:func:`resolve_graph_spec`), so any runner builds it (MMPretrain's stock
``tools/train.py`` / ``test.py``, ``mim train``, ``get_model``); the graph is
built once from the training split and cached as an ``.npz`` keyed by its
inputs. ``tools/build_label_graph.py`` and
:func:`mmpretrain_multilabel.apis.prepare_label_graphs` (the project's
tools) build the same file ahead of the model.

Image prototypes as node features need a model run over the training
images; that runs a layer above (``apis``), which hands it in as
``prototype_fn``: a model being built cannot build them (see
:func:`resolve_graph_spec`).
"""
import datetime
import hashlib
import json
import os
import os.path as osp
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ..datasets.loading import (
    build_label_dataset,
    dataset_from_annotation_file,
    dataset_label_matrix,
)
from .label_graph import (
    LabelGraph,
    LabelGraphError,
    build_label_graph,
    is_build_spec,
    labels_digest,
    labels_to_multihot,
)
from .word_vectors import class_word_embeddings, load_word_vectors, name_to_phrase

PROTOTYPES = 'prototypes'


def default_cache_dir() -> str:
    """``$MMPRETRAIN_MULTILABEL_CACHE/label_graphs`` (default
    ``~/.cache/mmpretrain_multilabel/label_graphs``)."""
    root = os.environ.get('MMPRETRAIN_MULTILABEL_CACHE') or osp.join(
        osp.expanduser('~'), '.cache', 'mmpretrain_multilabel')
    return osp.join(root, 'label_graphs')


def dataset_labels(dataset) -> Tuple[List[str], np.ndarray]:
    """Class names and ``(N, K)`` label matrix of a training split.

    Args:
        dataset: A dataset config (built without its pipeline), an
            annotation file (see
            :func:`~mmpretrain_multilabel.datasets.dataset_from_annotation_file`)
            or a dataset.

    Returns:
        tuple: Class names and the int8 label matrix (1 positive, 0
        negative, -1 ignored).
    """
    if isinstance(dataset, str):
        dataset = dataset_from_annotation_file(dataset)
    elif isinstance(dataset, Mapping):
        dataset = build_label_dataset(dataset)
    classes = dataset.metainfo.get('classes')
    if not classes:
        raise LabelGraphError(f'{type(dataset).__name__} has no class names '
                              "in its metainfo['classes']")
    return [str(c) for c in classes], dataset_label_matrix(dataset)


def node_features(classes: Sequence[str],
                  word_vectors: Union[str, np.ndarray],
                  vocab: Optional[str] = None,
                  aliases: Optional[Mapping[str, str]] = None,
                  prototypes: Optional[dict] = None,
                  dataset_cfg: Optional[dict] = None,
                  prototype_fn: Optional[Callable] = None
                  ) -> Tuple[np.ndarray, dict]:
    """Node features for ``classes`` and their provenance.

    Args:
        classes (Sequence[str]): Class names in label order.
        word_vectors (str | np.ndarray): ``'glove-6b-50d'``, a GloVe file, an
            ``.npy`` matrix (with ``vocab``), ``'prototypes'``, or a ready
            ``[K, N]`` array.
        vocab (str, optional): Vocabulary of an ``.npy`` matrix.
        aliases (Mapping[str, str], optional): Class name -> words.
        prototypes (dict, optional): For ``'prototypes'``: ``config``,
            ``checkpoint`` and optional ``device``, ``batch_size``,
            ``normalize`` (see ``prototype_fn``).
        dataset_cfg (dict, optional): Training dataset config (prototypes).
        prototype_fn (Callable, optional): For ``'prototypes'``:
            ``fn(config, checkpoint, dataset_cfg, classes, **options) ->
            (features [K, D], report)``, e.g.
            :func:`mmpretrain_multilabel.apis.prototypes_from_checkpoint`.
    """
    if isinstance(word_vectors, np.ndarray):
        feats = np.asarray(word_vectors, dtype=np.float32)
        if feats.shape[:1] != (len(classes), ):
            raise LabelGraphError(f'node feature array has shape '
                                  f'{feats.shape}, expected ({len(classes)}, N)')
        return feats, dict(kind='array', dim=int(feats.shape[1]))
    if word_vectors == PROTOTYPES:
        if not prototypes or 'config' not in prototypes:
            raise LabelGraphError(
                "word_vectors='prototypes' needs prototypes=dict(config=..., "
                'checkpoint=...) naming the model whose backbone features '
                'are averaged per class')
        if dataset_cfg is None:
            raise LabelGraphError("word_vectors='prototypes' needs the "
                                  'training dataset config')
        if prototype_fn is None:
            raise LabelGraphError(
                "word_vectors='prototypes' runs a model over the training images: build the "
                'graph with mmpretrain_multilabel.apis.prepare_label_graphs or '
                'tools/build_label_graph.py')
        opts = dict(prototypes)
        return prototype_fn(
            opts.pop('config'), opts.pop('checkpoint', None), dataset_cfg,
            classes, **opts)
    vectors = load_word_vectors(word_vectors, vocab)
    return class_word_embeddings(classes, vectors, aliases)


def graph_cache_key(classes: Sequence[str], labels_sha: str, settings: dict
                    ) -> str:
    """Hash of everything a built graph depends on."""
    blob = json.dumps(dict(classes=list(classes), labels=labels_sha,
                           settings=settings), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _file_stamp(path: str) -> List[Any]:
    """A file's identity for a cache key: absolute path, size, mtime."""
    return [osp.abspath(path), osp.getsize(path), int(osp.getmtime(path))]


def _source_stamp(word_vectors: Any, vocab: Optional[str]) -> Any:
    """Identify a word-vector source (path + size + mtime) for the key."""
    if not isinstance(word_vectors, str):
        return 'array'
    stamp: List[Any] = [word_vectors]
    for p in (word_vectors, vocab):
        if p and osp.isfile(p):
            stamp += _file_stamp(p)
    return stamp


def _proto_stamp(prototypes: Optional[dict]) -> Any:
    """Prototype settings with file stamps of their config and weights."""
    if not prototypes:
        return None
    stamp = dict(prototypes)
    for k in ('config', 'checkpoint'):
        v = stamp.get(k)
        if isinstance(v, str) and osp.isfile(v):
            stamp[k] = _file_stamp(v)
    return stamp


def build_graph(classes: Sequence[str],
                labels,
                word_vectors: Union[str, np.ndarray] = 'glove-6b-50d',
                vocab: Optional[str] = None,
                aliases: Optional[Mapping[str, str]] = None,
                t: float = 0.4,
                p: float = 0.25,
                rule: str = 'mlgcn',
                prototypes: Optional[dict] = None,
                dataset_cfg: Optional[dict] = None,
                label_source: Optional[dict] = None,
                prototype_fn: Optional[Callable] = None) -> LabelGraph:
    """Count co-occurrences, compute node features, assemble the graph
    (arguments: see :func:`node_features` and :func:`build_label_graph`)."""
    multihot = labels_to_multihot(labels, len(classes))
    feats, feat_report = node_features(classes, word_vectors, vocab, aliases,
                                       prototypes, dataset_cfg, prototype_fn)
    provenance = dict(
        labels=dict(label_source or {}, images=int(multihot.shape[0])),
        node_features=feat_report, t=t, p=p, reweight_rule=rule,
        created=datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec='seconds'),
        tool='mmpretrain_multilabel.graph.builder')
    return build_label_graph(classes, multihot, feats, t, p, rule, provenance)


def load_or_build_graph(*args, **kwargs) -> LabelGraph:
    """The graph of a training split (see :func:`build_graph_file`, which
    takes the same arguments), read from its cached file."""
    return LabelGraph.load(build_graph_file(*args, **kwargs))


def build_graph_file(dataset: Union[dict, str],
                    word_vectors: Union[str, np.ndarray] = 'glove-6b-50d',
                    vocab: Optional[str] = None,
                    aliases: Optional[Mapping[str, str]] = None,
                    t: float = 0.4,
                    p: float = 0.25,
                    rule: str = 'mlgcn',
                    prototypes: Optional[dict] = None,
                    cache_file: Optional[str] = None,
                    logger=None,
                    prototype_fn: Optional[Callable] = None) -> str:
    """The ``.npz`` file of a training split's graph, built unless a cached
    file has the same inputs.

    Labels are always re-read (cheap) so that a changed annotation gives a
    new graph; the expensive parts (word vectors, prototypes) are cached.

    Args:
        dataset (dict | str): Training dataset config or an annotation file.
        word_vectors, vocab, aliases, prototypes, prototype_fn: See
            :func:`node_features`.
        t, p, rule: See :func:`build_label_graph`.
        cache_file (str, optional): ``.npz`` path to reuse/write. Defaults to
            ``<default_cache_dir()>/<key>.npz``.
        logger: Optional MMEngine logger for a one-line summary.

    Returns:
        str: The graph file.
    """
    classes, multihot = dataset_labels(dataset)
    if isinstance(dataset, str):
        label_source = dict(annotation_file=osp.abspath(dataset))
        dataset_cfg = None
    else:
        dataset_cfg = dict(dataset)
        label_source = dict(dataset=json.loads(
            json.dumps(dataset_cfg, default=str)))
    multihot = labels_to_multihot(multihot, len(classes))
    settings = dict(word_vectors=_source_stamp(word_vectors, vocab),
                    aliases={c: name_to_phrase(c, aliases) for c in classes},
                    t=t, p=p, rule=rule, prototypes=_proto_stamp(prototypes))
    key = graph_cache_key(classes, labels_digest(classes, multihot), settings)
    path = cache_file or osp.join(default_cache_dir(), f'{key}.npz')
    if osp.isfile(path):
        try:
            graph = LabelGraph.load(path)
        except (LabelGraphError, OSError):
            graph = None  # unreadable cache: rebuild below
        if graph is not None and graph.provenance.get('cache_key') == key:
            _log(logger, f'label graph: reusing {path}')
            return path
    graph = build_graph(classes, multihot, word_vectors, vocab, aliases, t, p,
                        rule, prototypes, dataset_cfg, label_source, prototype_fn)
    graph.provenance['cache_key'] = key
    graph.save(path)
    _log(logger, f'label graph: built {path} (K={graph.num_classes}, '
         f'{graph.num_images} images, '
         f'{int(graph.adj_binary.sum())} edges, features '
         f'{graph.node_features.shape[1]}-d)')
    return path


def _plain(value: Any) -> Any:
    """A ``ConfigDict`` tree as plain dicts (anything else as it is)."""
    return value.to_dict() if hasattr(value, 'to_dict') else value


def resolve_graph_spec(graph: Any, owner: str = 'graph branch', logger=None,
                       prototype_fn: Optional[Callable] = None) -> Any:
    """A graph branch's ``graph`` argument with a build spec replaced by its
    ``.npz`` file (:func:`build_graph_file`, cached); any other value is
    returned as it is.

    Called by the graph branches while the model is built, so that a runner
    that knows nothing of label graphs (MMPretrain's stock tools) builds
    them. In a distributed run the first process builds the file while the
    others wait at a barrier, then find it in the cache.

    Args:
        graph: A build spec ``dict(dataset=..., word_vectors=..., ...)``
            (arguments of :func:`build_graph_file`), or a built graph (a
            ``.npz`` path, a :class:`LabelGraph`, arrays).
        owner (str): The module named in error messages.
        logger: Optional MMEngine logger for the one-line summary.
        prototype_fn (Callable, optional): Builds image prototypes (see
            :func:`node_features`); given by the layer above
            (``apis.prepare_label_graphs``), never by a model being built.

    Returns:
        The ``.npz`` path for a build spec, else ``graph``.

    Raises:
        LabelGraphError: A spec with ``word_vectors='prototypes'`` and no
            ``prototype_fn``: those run a trained model over the training
            images, which the project's tools do before the model is built
            (the error names them).
    """
    if not is_build_spec(graph):
        return graph
    spec = {k: _plain(v) for k, v in dict(graph).items()}
    if spec.get('word_vectors') == PROTOTYPES and prototype_fn is None:
        raise LabelGraphError(
            f"{owner}: graph=dict(word_vectors='prototypes') runs a trained model over the "
            'training images, which cannot happen while this model is being built: build the '
            'graph first (tools/build_label_graph.py --word-vectors prototypes ...) and give '
            "its .npz as graph='path.npz', or run the project's tools/train.py / test.py, "
            'which build it before the model')
    from mmengine.dist import barrier, get_dist_info
    rank, world_size = get_dist_info()
    if world_size > 1 and rank > 0:
        barrier()  # rank 0 builds (or finds) the file first
    try:
        return build_graph_file(logger=logger, prototype_fn=prototype_fn, **spec)
    finally:
        if world_size > 1 and rank == 0:
            barrier()


def _log(logger, msg: str) -> None:
    if logger is None:
        from mmengine.logging import MMLogger
        logger = MMLogger.get_current_instance()
    logger.info(msg)


def graph_summary(graph: LabelGraph) -> Dict[str, Any]:
    """Short numbers of a graph for printing."""
    a = graph.adj_binary
    return dict(classes=graph.num_classes, images=graph.num_images,
                edges=int(a.sum()),
                isolated=[c for c, r, col in zip(graph.classes, a.sum(1),
                                                 a.sum(0)) if r + col == 0],
                feature_dim=graph.feature_dim, t=graph.t, p=graph.p)
