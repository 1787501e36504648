"""Argument and input checks shared by the heads and the neck: one wording
for every module, each message naming the module, the argument and the
value."""
from typing import Any, Sequence, Tuple

import torch


def check_ints(owner: str, minimum: int = 1, **values: Any) -> None:
    """Raise unless every value is an ``int`` of at least ``minimum``.

    Args:
        owner (str): The module named in the message.
        minimum (int): Smallest value allowed. Defaults to 1.
        **values: ``name=value`` pairs.

    Raises:
        ValueError: ``'<owner>: <name>=<value> must be a positive integer'``
            (``'an integer >= <minimum>'`` for another minimum).
    """
    what = 'a positive integer' if minimum == 1 else f'an integer >= {minimum}'
    for name, value in values.items():
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= minimum):
            raise ValueError(f'{owner}: {name}={value!r} must be {what}')


def check_choices(owner: str, **choices: Tuple[Any, Sequence[Any]]) -> None:
    """Raise unless each value is one of its choices (``name=(value,
    choices)``)."""
    for name, (value, allowed) in choices.items():
        if value not in allowed:
            raise ValueError(f'{owner}: {name}={value!r} must be one of {tuple(allowed)}')


def check_dropout(owner: str, dropout: float) -> None:
    """Raise unless ``0 <= dropout < 1``."""
    if not 0 <= dropout < 1:
        raise ValueError(f'{owner}: dropout={dropout!r} not in [0, 1)')


def check_divisible(owner: str, embed_dims: int, num_heads: int) -> None:
    """Raise unless the attention width splits into ``num_heads`` heads."""
    if embed_dims % num_heads:
        raise ValueError(f'{owner}: embed_dims={embed_dims} is not divisible by '
                         f'num_heads={num_heads}')


def check_channels(owner: str, x: torch.Tensor, in_channels: int, dim: int = 1) -> None:
    """Raise unless ``x`` has ``in_channels`` along ``dim`` (skipped while
    tracing, where shapes are symbolic)."""
    if not torch.jit.is_tracing() and x.shape[dim] != in_channels:
        raise ValueError(f'{owner}: in_channels={in_channels} but the input has '
                         f'{x.shape[dim]} channels ({tuple(x.shape)}); set the head\'s '
                         f'in_channels={x.shape[dim]} (the channels of the backbone/neck output)')
