"""Eval-mode caching of results that do not depend on the input image.

Graph branches (ML-GCN's classifiers, the GAT re-weighting weights) compute
a tensor from their own parameters and buffers only. In train mode it must
be recomputed with gradient every step; at inference it is a constant, so it
is computed once and reused until the module's state changes.
"""
from functools import partial
from typing import Any, Callable, Dict, Iterable, Optional, Tuple

import torch


class trace_paused:  # noqa: N801 (a context manager, used like a function)
    """Hide the enclosed ops from ``torch.jit`` tracing (ONNX export, FLOP
    counters): tensors made inside become trace constants."""

    def __enter__(self):
        self.state = torch._C._get_tracing_state()
        if self.state is not None:
            torch._C._set_tracing_state(None)
        return self

    def __exit__(self, *exc):
        if self.state is not None:
            torch._C._set_tracing_state(self.state)
        return False


def state_key(tensors: Iterable[torch.Tensor]) -> Tuple:
    """Identity of tensors' contents: device, dtype, storage and version
    counter (in-place updates by optimizers and ``load_state_dict`` bump the
    version; ``.to()``/``.half()`` change storage or dtype)."""
    return tuple((t.device, t.dtype, t.data_ptr(), t._version) for t in tensors)


def _constant(compute: Callable[[], torch.Tensor]) -> torch.Tensor:
    """``compute()`` detached, without gradient and hidden from tracing."""
    # inference_mode(False): the constant must stay usable outside inference
    # mode (e.g. a later no_grad evaluation or ONNX export).
    with trace_paused(), torch.inference_mode(False), torch.no_grad():
        return compute().detach()


class EvalCacheMixin:
    """Cache input-independent tensors of an ``nn.Module`` in eval mode.

    Put it before the ``nn.Module`` base class and call
    ``self.eval_cached(name, compute)``: in train mode it returns
    ``compute()`` (with gradient); in eval mode a detached result computed
    once (without gradient, hidden from tracing) and reused until one of the
    module's parameters or buffers changes (see :func:`state_key`), or the
    module is put in train/eval mode, moved/cast, loaded from a state dict,
    copied or pickled.

    Note:
        Writes through ``param.data`` bypass PyTorch's version counter: call
        :meth:`clear_eval_cache` after such edits. (MMEngine's EMA swap writes
        that way, but it runs before ``model.eval()`` of the validation loop,
        which clears the cache.)
    """

    def _eval_cache_store(self) -> Dict[str, Tuple[Tuple, Any]]:
        # plain attribute outside nn.Module's registries, created on first use
        return self.__dict__.setdefault('_eval_cache', {})

    def eval_cache_tensors(self) -> Iterable[torch.Tensor]:
        """Tensors the cached results depend on: by default every parameter
        and buffer of the module."""
        return list(self.parameters()) + list(self.buffers())

    def eval_cached(self, name: str, compute: Callable[[], torch.Tensor],
                    tensors: Optional[Iterable[torch.Tensor]] = None) -> torch.Tensor:
        """``compute()`` in train mode; a cached constant in eval mode.

        Args:
            name (str): Cache slot (one module may cache several results).
            compute (callable): Computes the tensor from the module's state.
            tensors (Iterable[Tensor], optional): What the result depends on;
                defaults to :meth:`eval_cache_tensors`.
        """
        if self.training:
            return compute()
        return self.state_cached(name, partial(_constant, compute),
                                 self.eval_cache_tensors() if tensors is None else tensors)

    def state_cached(self, name: str, build: Callable[[], Any],
                     tensors: Iterable[torch.Tensor]) -> Any:
        """``build()``, cached in every mode until ``tensors`` change.

        For objects derived from the module's state that carry no gradient
        (e.g. a DGL graph built from index buffers). They live in the eval
        cache, so they are dropped by the same events (train/eval mode,
        moves/casts, ``load_state_dict``) and never deep-copied or pickled.

        Args:
            name (str): Cache slot, distinct from the :meth:`eval_cached` ones.
            build (callable): Builds the object.
            tensors (Iterable[Tensor]): What the object depends on (see
                :func:`state_key`).
        """
        key = state_key(tensors)
        store = self._eval_cache_store()
        hit = store.get(name)
        if hit is None or hit[0] != key:
            hit = (key, build())
            store[name] = hit
        return hit[1]

    def clear_eval_cache(self) -> None:
        """Forget every cached result."""
        self._eval_cache_store().clear()

    def train(self, mode: bool = True):
        self.clear_eval_cache()
        return super().train(mode)

    def _apply(self, fn, *args, **kwargs):
        self.clear_eval_cache()
        return super()._apply(fn, *args, **kwargs)

    def _load_from_state_dict(self, *args, **kwargs):
        self.clear_eval_cache()
        return super()._load_from_state_dict(*args, **kwargs)

    def __getstate__(self):
        # deepcopy (EMA) and pickling start with an empty cache
        state = dict(self.__dict__)
        state['_eval_cache'] = {}
        return state
