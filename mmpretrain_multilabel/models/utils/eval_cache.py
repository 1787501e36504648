"""Eval-mode caching of results that do not depend on the input image.

Graph branches (ML-GCN's classifiers, the GAT re-weighting weights) compute
a tensor from their own parameters and buffers only. In train mode it must
be recomputed with gradient every step; at inference it is a constant, so it
is computed once and reused until the module's state changes.
"""
from typing import Callable, Dict, Iterable, Optional, Tuple

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

    def _eval_cache_store(self) -> Dict[str, Tuple[Tuple, torch.Tensor]]:
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
        key = state_key(self.eval_cache_tensors() if tensors is None else tensors)
        store = self._eval_cache_store()
        hit = store.get(name)
        if hit is None or hit[0] != key:
            # inference_mode(False): the constant must stay usable outside
            # inference mode (e.g. a later no_grad evaluation or ONNX export).
            with trace_paused(), torch.inference_mode(False), torch.no_grad():
                value = compute().detach()
            hit = (key, value)
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
