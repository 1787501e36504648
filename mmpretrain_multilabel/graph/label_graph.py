"""Label graphs for graph-based multilabel branches (ML-GCN, GAT re-weighting).

The label correlation matrix is built from training annotations as in ML-GCN
(Chen et al., "Multi-Label Image Recognition with Graph Convolutional
Networks", CVPR 2019, https://arxiv.org/abs/1904.03582), which the GAT
re-weighting branch of Prokofiev & Sovrasov 2022 (Sec. 3.3) reuses:

* ``M[i, j]``: number of images labelled with both ``i`` and ``j``
  (``M[i, i] = n_i``, the number of images labelled ``i``);
* ``P[i, j] = P(j | i) = M[i, j] / n_i``;
* binarised adjacency ``A[i, j] = 1 if P(j | i) >= t`` for ``i != j``
  (zero diagonal; ``t = 0.4``);
* re-weighted adjacency, ML-GCN's public code (``rule='mlgcn'``):
  ``A' = A * p / (column sums of A + 1e-6) + I``; ML-GCN's Eq. 8
  (``rule='mlgcn-paper'``): ``A'[i, j] = p * A[i, j] / sum_k A[i, k]`` for
  ``i != j`` and ``A'[i, i] = 1 - p`` (``1`` for a label without neighbours).

A :class:`LabelGraph` holds those arrays, the K node features and a
provenance record, and is stored as one ``.npz`` file (no pickles).
"""
import hashlib
import json
import os
import os.path as osp
import tempfile
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ..datasets.base_multilabel import label_matrix
from ..datasets.statistics import cooccurrence

FORMAT_VERSION = 1
REWEIGHT_RULES = ('mlgcn', 'mlgcn-paper')
#: Keys every label-graph file must have.
REQUIRED_KEYS = ('format_version', 'classes', 'counts', 'num_images',
                 'cooccurrence', 'cond_prob', 'adj_binary', 'adj_reweighted',
                 'node_features', 't', 'p', 'provenance')

LabelsLike = Union[Sequence[Sequence[int]], np.ndarray]


class LabelGraphError(ValueError):
    """A label graph (file or arrays) that cannot be used as it is."""


def labels_to_multihot(labels: LabelsLike, num_classes: int) -> np.ndarray:
    """Turn per-image labels into a boolean ``[N, K]`` matrix.

    Args:
        labels: Either one sequence of label indices per image (MMPretrain's
            ``gt_label`` lists, counted by
            :func:`~mmpretrain_multilabel.datasets.label_matrix`) or an
            ``[N, K]`` array with values in ``{-1, 0, 1}``; ``-1`` (ignored /
            "difficult") counts as absent.
        num_classes (int): Number of classes K.

    Returns:
        np.ndarray: ``bool`` array of shape ``[N, K]``.
    """
    if isinstance(labels, np.ndarray) and labels.ndim == 2:
        if labels.shape[1] != num_classes:
            raise LabelGraphError(f'label matrix has {labels.shape[1]} '
                                  f'columns, expected {num_classes} classes')
        bad = ~np.isin(labels, (-1, 0, 1))
        if bad.any():
            raise LabelGraphError(
                'label matrix values must be -1, 0 or 1; found '
                f'{np.unique(labels[bad])[:5].tolist()}')
        return labels == 1
    try:
        mat = label_matrix([dict(gt_label=idx) for idx in labels], num_classes)
    except ValueError as e:
        raise LabelGraphError(str(e)) from e
    return mat == 1


def conditional_probability(cooc: np.ndarray, counts: np.ndarray,
                            classes: Optional[Sequence[str]] = None
                            ) -> np.ndarray:
    """``P[i, j] = P(j | i) = M[i, j] / n_i``.

    A class without any training image (``n_i = 0``, common in small or
    partly annotated datasets) has no evidence of co-occurrence: its row is
    0, so it gets no edge and keeps only its self-loop in the re-weighted
    graph. A warning names such classes.
    """
    counts = np.asarray(counts)
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        names = [classes[i] if classes is not None else str(i) for i in empty]
        warnings.warn(
            f'label graph: {empty.size} class(es) have no training image, so they get no '
            f'co-occurrence edge (P(j|i) = 0): {names}', stacklevel=2)
    return np.asarray(cooc, np.float64) / np.maximum(counts, 1)[:, None].astype(np.float64)


def binarize_adjacency(cond_prob: np.ndarray, t: float = 0.4) -> np.ndarray:
    """ML-GCN's binarisation: ``A[i, j] = P(j|i) >= t`` off the diagonal."""
    if not 0.0 <= t <= 1.0:
        raise LabelGraphError(f'threshold t must be in [0, 1], got {t}')
    a = (np.asarray(cond_prob) >= t).astype(np.float32)
    np.fill_diagonal(a, 0.0)
    return a


def reweight_adjacency(adj_binary: np.ndarray, p: float = 0.25,
                       rule: str = 'mlgcn') -> np.ndarray:
    """ML-GCN's re-weighting of a binarised adjacency (see module docstring).

    Args:
        adj_binary (np.ndarray): ``[K, K]`` 0/1 matrix with zero diagonal.
        p (float): Weight given to the neighbours (ML-GCN: 0.2 - 0.25).
        rule (str): ``'mlgcn'`` (the authors' code: column-normalised, plus
            identity) or ``'mlgcn-paper'`` (Eq. 8: row-normalised, diagonal
            ``1 - p``).
    """
    if not 0.0 <= p <= 1.0:
        raise LabelGraphError(f're-weight p must be in [0, 1], got {p}')
    a = np.asarray(adj_binary, dtype=np.float64)
    k = a.shape[0]
    if rule == 'mlgcn':
        out = a * p / (a.sum(0, keepdims=True) + 1e-6) + np.eye(k)
    elif rule == 'mlgcn-paper':
        rows = a.sum(1, keepdims=True)
        out = np.where(rows > 0, a * p / np.maximum(rows, 1e-12), 0.0)
        np.fill_diagonal(out, np.where(rows[:, 0] > 0, 1.0 - p, 1.0))
    else:
        raise LabelGraphError(f'unknown re-weight rule {rule!r}; choose from '
                              f'{REWEIGHT_RULES}')
    return out.astype(np.float32)


@dataclass
class LabelGraph:
    """A label graph over K classes with node features.

    Attributes:
        classes (list[str]): Class names, in label-index order.
        counts (np.ndarray): ``[K]`` training images per class.
        num_images (int): Number of training images counted.
        cooccurrence (np.ndarray): ``[K, K]`` counts ``M``.
        cond_prob (np.ndarray): ``[K, K]`` ``P(j | i)``.
        adj_binary (np.ndarray): ``[K, K]`` binarised adjacency.
        adj_reweighted (np.ndarray): ``[K, K]`` re-weighted adjacency.
        node_features (np.ndarray): ``[K, N]`` node features (word vectors or
            image prototypes).
        t (float): Binarisation threshold used.
        p (float): Re-weighting factor used.
        provenance (dict): Where labels and features came from.
    """

    classes: List[str]
    counts: np.ndarray
    num_images: int
    cooccurrence: np.ndarray
    cond_prob: np.ndarray
    adj_binary: np.ndarray
    adj_reweighted: np.ndarray
    node_features: np.ndarray
    t: float
    p: float
    provenance: Dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def feature_dim(self) -> int:
        return int(self.node_features.shape[1])

    def validate(self, source: str = 'label graph') -> 'LabelGraph':
        """Check shapes, finiteness and value ranges; raise
        :class:`LabelGraphError` naming ``source`` and the field."""
        k = len(self.classes)
        if k == 0:
            raise LabelGraphError(f'{source}: no classes')
        shapes = dict(counts=(k, ), cooccurrence=(k, k), cond_prob=(k, k),
                      adj_binary=(k, k), adj_reweighted=(k, k))
        for name, shape in shapes.items():
            arr = np.asarray(getattr(self, name))
            if arr.shape != shape:
                raise LabelGraphError(
                    f'{source}: {name} has shape {arr.shape}, expected {shape} '
                    f'for K={k} classes')
        nf = np.asarray(self.node_features)
        if nf.ndim != 2 or nf.shape[0] != k or nf.shape[1] == 0:
            raise LabelGraphError(
                f'{source}: node_features has shape {nf.shape}, expected '
                f'({k}, N) for K={k} classes')
        for name in ('cond_prob', 'adj_binary', 'adj_reweighted',
                     'node_features'):
            arr = np.asarray(getattr(self, name), dtype=np.float64)
            if not np.isfinite(arr).all():
                rows = np.unique(np.argwhere(~np.isfinite(arr))[:, 0])
                raise LabelGraphError(
                    f'{source}: {name} has NaN/inf values (rows of classes '
                    f'{[self.classes[i] for i in rows[:10]]})')
        for name in ('counts', 'cooccurrence', 'adj_binary', 'adj_reweighted'):
            if (np.asarray(getattr(self, name)) < 0).any():
                raise LabelGraphError(f'{source}: {name} has negative values')
        return self

    def adjacency(self, kind: str = 'reweighted') -> np.ndarray:
        """The ``'reweighted'`` or ``'binary'`` adjacency."""
        if kind not in ('reweighted', 'binary'):
            raise LabelGraphError(f"adjacency must be 'reweighted' or "
                                  f"'binary', got {kind!r}")
        return self.adj_reweighted if kind == 'reweighted' else self.adj_binary

    def save(self, path: str) -> str:
        """Validate and write one ``.npz`` file atomically; return its path."""
        self.validate(path)
        arrays = dict(
            format_version=np.int64(FORMAT_VERSION),
            classes=np.array(self.classes, dtype=np.str_),
            counts=np.asarray(self.counts, np.int64),
            num_images=np.int64(self.num_images),
            cooccurrence=np.asarray(self.cooccurrence, np.int64),
            cond_prob=np.asarray(self.cond_prob, np.float64),
            adj_binary=np.asarray(self.adj_binary, np.float32),
            adj_reweighted=np.asarray(self.adj_reweighted, np.float32),
            node_features=np.asarray(self.node_features, np.float32),
            t=np.float64(self.t), p=np.float64(self.p),
            provenance=np.array(json.dumps(self.provenance, sort_keys=True)))
        path = osp.abspath(osp.expanduser(path))
        os.makedirs(osp.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix='.npz', dir=osp.dirname(path))
        try:
            with os.fdopen(fd, 'wb') as f:
                np.savez(f, **arrays)
            os.replace(tmp, path)
        except BaseException:
            if osp.exists(tmp):
                os.remove(tmp)
            raise
        return path

    @classmethod
    def load(cls, path: str) -> 'LabelGraph':
        """Read and validate a file written by :meth:`save` (or by
        ``tools/build_label_graph.py``)."""
        if not osp.isfile(path):
            raise FileNotFoundError(f'label graph file not found: {path}')
        try:
            data = np.load(path, allow_pickle=False)
        except Exception as e:
            raise LabelGraphError(f'{path}: not a readable .npz label graph '
                                  f'({type(e).__name__}: {e})') from e
        with data:
            missing = [k for k in REQUIRED_KEYS if k not in data.files]
            if missing:
                raise LabelGraphError(
                    f'{path}: missing keys {missing} (a label graph needs '
                    f'{list(REQUIRED_KEYS)}; build one with '
                    'tools/build_label_graph.py)')
            version = int(data['format_version'])
            if version != FORMAT_VERSION:
                raise LabelGraphError(f'{path}: format_version {version}, '
                                      f'this code reads {FORMAT_VERSION}')
            try:
                provenance = json.loads(str(data['provenance']))
            except ValueError as e:
                raise LabelGraphError(f'{path}: provenance is not JSON') from e
            graph = cls(
                classes=[str(c) for c in data['classes'].reshape(-1)],
                counts=data['counts'], num_images=int(data['num_images']),
                cooccurrence=data['cooccurrence'], cond_prob=data['cond_prob'],
                adj_binary=data['adj_binary'],
                adj_reweighted=data['adj_reweighted'],
                node_features=data['node_features'], t=float(data['t']),
                p=float(data['p']), provenance=provenance)
        return graph.validate(path)


def build_label_graph(classes: Sequence[str],
                      labels: LabelsLike,
                      node_features: np.ndarray,
                      t: float = 0.4,
                      p: float = 0.25,
                      rule: str = 'mlgcn',
                      provenance: Optional[Dict[str, Any]] = None
                      ) -> LabelGraph:
    """Count co-occurrences and assemble a validated :class:`LabelGraph`.

    Args:
        classes (Sequence[str]): K class names.
        labels: Per-image labels (see :func:`labels_to_multihot`).
        node_features (np.ndarray): ``[K, N]`` node features.
        t (float): Binarisation threshold. Defaults to 0.4.
        p (float): Re-weighting factor. Defaults to 0.25.
        rule (str): Re-weighting rule, see :func:`reweight_adjacency`.
        provenance (dict, optional): Where labels and features came from.
    """
    classes = [str(c) for c in classes]
    multihot = labels_to_multihot(labels, len(classes))
    if multihot.shape[0] == 0:
        raise LabelGraphError('no images to count label co-occurrence from')
    cooc = cooccurrence(multihot)
    counts = np.diag(cooc).copy()
    cond = conditional_probability(cooc, counts, classes)
    adj_b = binarize_adjacency(cond, t)
    adj_r = reweight_adjacency(adj_b, p, rule)
    prov = dict(provenance or {})
    prov.setdefault('reweight_rule', rule)
    prov.setdefault('labels_sha256', labels_digest(classes, multihot))
    return LabelGraph(
        classes=classes, counts=counts, num_images=int(multihot.shape[0]),
        cooccurrence=cooc, cond_prob=cond, adj_binary=adj_b,
        adj_reweighted=adj_r,
        node_features=np.asarray(node_features, dtype=np.float32), t=float(t),
        p=float(p), provenance=prov).validate('built label graph')


def labels_digest(classes: Sequence[str], multihot: np.ndarray) -> str:
    """SHA-256 of the class list and the label matrix (a cache key part)."""
    h = hashlib.sha256(json.dumps(list(classes)).encode())
    h.update(np.packbits(np.asarray(multihot, bool), axis=1).tobytes())
    h.update(str(multihot.shape).encode())
    return h.hexdigest()


def random_label_graph(num_classes: int, feature_dim: int = 50, seed: int = 0) -> LabelGraph:
    """A valid label graph with random labels and node features.

    For what does not depend on the graph's values: counting FLOPs, smoke
    tests, exporting untrained models. Never for training.
    """
    rng = np.random.RandomState(seed)
    k = min(3, num_classes)
    labels = [rng.choice(num_classes, k, replace=False).tolist() for _ in range(4 * num_classes)]
    labels += [[c] for c in range(num_classes)]  # no empty class
    return build_label_graph([f'class_{c}' for c in range(num_classes)], labels,
                             rng.randn(num_classes, feature_dim).astype(np.float32),
                             provenance=dict(source='random_label_graph', seed=seed))


#: What a graph branch (``GATReweightNeck``, ``MLGCNHead``) takes as its
#: ``graph``: a ``.npz`` path, a :class:`LabelGraph` or arrays.
GraphInput = Union[str, LabelGraph, Dict[str, Any]]
ADJACENCY_KINDS = ('reweighted', 'binary')
_ADJACENCY_KEYS = ('adjacency', 'adj_reweighted', 'adj_binary')


def is_build_spec(graph: Any) -> bool:
    """Whether ``graph`` is a build spec ``dict(dataset=..., ...)`` (built
    into a graph file by ``mmpretrain_multilabel.graph.resolve_graph_spec``
    when a graph branch is built, or ahead of the model by
    ``mmpretrain_multilabel.apis.prepare_label_graphs``)."""
    return isinstance(graph, Mapping) and 'dataset' in graph


def graph_arrays(graph: GraphInput, adjacency: str = 'reweighted',
                 owner: str = 'graph branch') -> Tuple[np.ndarray, np.ndarray, str]:
    """The checked node features and adjacency of a graph branch's input.

    Args:
        graph (str | LabelGraph | dict): A ``.npz`` written by
            :meth:`LabelGraph.save` (``tools/build_label_graph.py``); a
            :class:`LabelGraph`; or arrays ``dict(node_features=[K, N],
            adjacency=[K, K])`` (``adj_reweighted`` / ``adj_binary`` instead
            of ``adjacency``).
        adjacency (str): ``'reweighted'`` or ``'binary'``: which adjacency
            of a graph file; arrays given as ``adjacency`` count as
            re-weighted.
        owner (str): The module named in error messages.

    Returns:
        tuple: float32 ``[K, N]`` node features, float32 ``[K, K]``
        adjacency and a phrase naming the source.

    Raises:
        TypeError: ``graph`` is none of those forms.
        LabelGraphError: A build spec (build it first), a dict without the
            arrays, a missing adjacency, or arrays of wrong shape, with
            NaN/inf or negative adjacency values.
    """
    if adjacency not in ADJACENCY_KINDS:
        raise ValueError(f'{owner}: adjacency={adjacency!r} must be one of {ADJACENCY_KINDS}')
    if isinstance(graph, str):
        graph = LabelGraph.load(graph)
    if isinstance(graph, LabelGraph):
        feats, adj, source = graph.node_features, graph.adjacency(adjacency), 'label graph'
    elif is_build_spec(graph):
        raise LabelGraphError(
            f'{owner}: graph is a build spec dict(dataset=...); build it first: '
            'mmpretrain_multilabel.graph.resolve_graph_spec (the graph branches do while '
            'they are built) or tools/build_label_graph.py for a .npz file')
    elif isinstance(graph, Mapping):
        if 'node_features' not in graph or not set(_ADJACENCY_KEYS) & set(graph):
            raise LabelGraphError(
                f'{owner}: graph must be a .npz path, a LabelGraph or arrays '
                'dict(node_features=[K, N], adjacency=[K, K]) (or adj_reweighted / adj_binary '
                f'instead of adjacency); got keys {sorted(graph)}')
        source = 'graph arrays'
        feats = graph['node_features']
        key = 'adj_binary' if adjacency == 'binary' else next(
            (k for k in ('adjacency', 'adj_reweighted') if k in graph), None)
        adj = graph.get(key) if key else None
    else:
        raise TypeError(f'{owner}: graph must be a .npz path, a LabelGraph or '
                        f'dict(node_features=..., adjacency=...); got {type(graph).__name__}')
    if adj is None:
        raise LabelGraphError(f'{owner}: the {source} have no {adjacency} adjacency')
    feats, adj = np.asarray(feats, np.float32), np.asarray(adj, np.float32)
    k = feats.shape[0] if feats.ndim else 0
    if feats.ndim != 2 or feats.shape[1] == 0 or adj.shape != (k, k):
        raise LabelGraphError(f'{owner}: node_features {feats.shape} and adjacency {adj.shape} '
                              f'must be [K, N] and [K, K] ({source})')
    for name, arr in (('node_features', feats), ('adjacency', adj)):
        if not np.isfinite(arr).all():
            raise LabelGraphError(f'{owner}: {name} of the {source} has NaN/inf')
    if (adj < 0).any():
        raise LabelGraphError(f'{owner}: adjacency of the {source} has negative values')
    return feats, adj, source
