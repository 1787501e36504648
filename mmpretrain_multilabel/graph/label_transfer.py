"""Class weights transferred from a pretrained classifier through class names.

A backbone pretrained on ImageNet comes with a 1000-class classifier that
already recognises dogs, pizzas and laptops. This module builds a target
classifier from it before any training: each target class (``'dog'``) takes a
convex combination of the source classes' weight vectors, weighted by a
softmax over the cosine similarity of the class names' word vectors
(``'dog'`` against ``'Maltese dog, Maltese terrier, Maltese'``), so it starts
as a semantic mixture of the source classes it names, in the spirit of ConSE
(Norouzi et al. 2014, https://arxiv.org/abs/1312.5650). The word vectors are
the GloVe vectors the paper's label graphs use (Prokofiev & Sovrasov 2022,
https://arxiv.org/abs/2209.06585, Sec. 3.3).

A source name is a comma-separated list of synonyms (MMPretrain's
``IMAGENET_CATEGORIES``); it is embedded as the mean of the synonyms whose
words are all known. Source classes without any known synonym get no weight.
"""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from .word_vectors import _SPLIT, WordVectorError, WordVectors, class_word_embeddings


def synonym_embeddings(names: Sequence[str], vectors: WordVectors
                       ) -> Tuple[np.ndarray, np.ndarray]:
    """Embed names made of comma-separated synonyms.

    Args:
        names (Sequence[str]): M names, e.g. ``'tabby, tabby cat'``.
        vectors (WordVectors): The word-vector table.

    Returns:
        tuple: ``[M, D]`` float32 embeddings (each the mean over the synonyms
        whose words are all known of their words' mean vector; zero where
        none is) and an ``[M]`` bool mask of the names that got one.
    """
    synonyms = [[_SPLIT.split(s.strip().lower()) for s in n.split(',')] for n in names]
    found = vectors.get({w for syn in synonyms for words in syn for w in words if w})
    emb = np.zeros((len(names), vectors.dim), np.float32)
    known = np.zeros(len(names), bool)
    for i, syn in enumerate(synonyms):
        vecs = [np.mean([found[w] for w in words], axis=0) for words in syn
                if words and all(w in found for w in words)]
        if vecs:
            emb[i], known[i] = np.mean(vecs, axis=0), True
    return emb, known


def transfer_matrix(target: np.ndarray, source: np.ndarray, known: np.ndarray,
                    temperature: float) -> np.ndarray:
    """Row-stochastic ``[K, M]`` weights: per target class, a softmax over the
    cosine similarity of its embedding to each known source embedding,
    divided by ``temperature`` (unknown sources get 0)."""
    if temperature <= 0:
        raise ValueError(f'temperature must be > 0, got {temperature}')
    if not known.any():
        raise WordVectorError('no source class name has word vectors')

    def unit(a: np.ndarray) -> np.ndarray:
        return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)

    logits = unit(target.astype(np.float64)) @ unit(source.astype(np.float64)).T / temperature
    logits[:, ~known] = -np.inf
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    return weights / weights.sum(axis=1, keepdims=True)


def transfer_classifier(target_classes: Sequence[str], source_classes: Sequence[str],
                        vectors: WordVectors, source_weight: np.ndarray,
                        source_bias: Optional[np.ndarray] = None, temperature: float = 0.05,
                        aliases: Optional[Dict[str, str]] = None
                        ) -> Tuple[np.ndarray, Optional[np.ndarray], dict]:
    """A K-class classifier transferred from an M-class one through names.

    Args:
        target_classes (Sequence[str]): The K target class names.
        source_classes (Sequence[str]): The M source class names (synonyms
            separated by commas).
        vectors (WordVectors): The word-vector table.
        source_weight (np.ndarray): ``[M, C]`` source classifier weights.
        source_bias (np.ndarray, optional): ``[M]`` source biases.
        temperature (float): Softmax temperature over name similarity;
            smaller picks fewer source classes. Defaults to 0.05.
        aliases (dict, optional): Extra target ``name -> words``
            replacements (see :func:`~.word_vectors.class_word_embeddings`).

    Returns:
        tuple: ``[K, C]`` weights, ``[K]`` biases (None without
        ``source_bias``) and a report: per target class its three most
        weighted source classes with their weights.

    Raises:
        WordVectorError: A target class name has no word vector, or no
            source name has one.
        ValueError: ``source_classes`` and ``source_weight`` disagree.
    """
    if len(source_classes) != len(source_weight):
        raise ValueError(f'{len(source_classes)} source class names for a classifier '
                         f'of {len(source_weight)} classes')
    target, _ = class_word_embeddings(target_classes, vectors, aliases)
    source, known = synonym_embeddings(source_classes, vectors)
    mix = transfer_matrix(target, source, known, temperature)
    weight = (mix @ source_weight.astype(np.float64)).astype(np.float32)
    bias = None if source_bias is None else (mix @ source_bias).astype(np.float32)
    top = np.argsort(-mix, axis=1)[:, :3]
    report = {cls: [(source_classes[j].split(',')[0], round(float(mix[k, j]), 3))
                    for j in top[k]] for k, cls in enumerate(target_classes)}
    return weight, bias, report
