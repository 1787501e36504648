"""Graph layers over the label graph with two interchangeable backends.

:class:`GATLayer` (graph attention, Velickovic et al. 2018,
https://arxiv.org/abs/1710.10903) and :class:`GCNLayer` (ML-GCN's graph
convolution, Chen et al. 2019, https://arxiv.org/abs/1904.03582) own their
parameters and take their message passing from a backend graph:

* ``'dgl'``: DGL's sparse kernels (``dgl.ops.u_add_v``, ``edge_softmax``,
  ``u_mul_e_sum``), the ops ``dgl.nn.GATConv`` / ``GraphConv`` run on.
  DGL's PyPI wheels support torch <= 2.2.1 only.
* ``'pyg'``: PyTorch Geometric's ``softmax`` and ``scatter`` (pure Python,
  maintained for current torch).

The parameters carry DGL's names and shapes (``fc.weight``, ``attn_l``,
``attn_r``, ``bias``; ``weight``) and DGL's initialisation, so checkpoints
trained with either backend, or with the earlier ``dgl.nn`` layers, load into
both and predict identically. ``graph_backend='auto'`` picks DGL where it
imports, else PyTorch Geometric.

Neither library is imported at package import, only when a graph is built.

Both layers run in float32 under fp16/bf16 autocast (:func:`float32_graph`):
the backends' sparse kernels take one dtype for node and edge features
(autocast gives the projected node features in half precision, the edge
weights stay float32), and the graph has one node per class, so float32
costs nothing that shows.
"""
from contextlib import contextmanager
from typing import Iterator, Optional

import torch
from torch import nn

#: The torch versions PyPI's DGL wheels (dgl==2.1.0) ship native libraries for.
DGL_SUPPORTED_TORCH = 'torch <= 2.2.1'
#: Accepted values of ``graph_backend``.
GRAPH_BACKENDS = ('auto', 'dgl', 'pyg')

_DGL_INSTALL = ('pip install "dgl==2.1.0" "torch<=2.2.1" "numpy<2" (or '
                '"mmpretrain-multilabel[graph]", bash tools/install.sh)')
_PYG_INSTALL = ('pip install torch-geometric (or '
                '"mmpretrain-multilabel[graph-pyg]", bash tools/install.sh '
                '--current)')


def import_dgl():
    """Import DGL with ``dgl.nn`` and ``dgl.ops``.

    Returns:
        module: The ``dgl`` module.

    Raises:
        ImportError: DGL failed to load; the message says which torch
            versions the PyPI DGL wheels support and names the PyTorch
            Geometric alternative.
    """
    try:
        import dgl
        import dgl.nn  # noqa: F401 (loads the native graph ops)
        import dgl.ops  # noqa: F401
    except Exception as e:  # ImportError, OSError from a missing .so, ...
        raise ImportError(
            'The DGL graph backend failed to load with torch '
            f'{torch.__version__} ({type(e).__name__}: {e}). DGL 2.1.0 wheels '
            f'on PyPI ship native libraries for {DGL_SUPPORTED_TORCH} only: '
            f'{_DGL_INSTALL}, or install the DGL build that matches your '
            "torch from DGL's own wheel index; on current torch use "
            f"graph_backend='pyg' ({_PYG_INSTALL}).") from e
    return dgl


def import_pyg():
    """Import PyTorch Geometric's ``softmax`` and ``scatter``.

    Returns:
        tuple: ``(softmax, scatter)`` from ``torch_geometric.utils``.

    Raises:
        ImportError: PyTorch Geometric is not installed or failed to load.
    """
    try:
        from torch_geometric.utils import scatter, softmax
    except Exception as e:
        raise ImportError(
            'The PyTorch Geometric graph backend failed to load with torch '
            f'{torch.__version__} ({type(e).__name__}: {e}): '
            f'{_PYG_INSTALL}.') from e
    return softmax, scatter


def resolve_graph_backend(name: str = 'auto') -> str:
    """The backend ``graph_backend=name`` runs on, checked to import.

    Args:
        name (str): ``'auto'`` (DGL if it imports, else PyTorch Geometric),
            ``'dgl'`` or ``'pyg'``.

    Returns:
        str: ``'dgl'`` or ``'pyg'``.

    Raises:
        ValueError: ``name`` is not one of :data:`GRAPH_BACKENDS`.
        ImportError: The backend (for ``'auto'``: both) fails to import; the
            message names the installs.
    """
    if name not in GRAPH_BACKENDS:
        raise ValueError(f'graph_backend must be one of {GRAPH_BACKENDS}, '
                         f'got {name!r}')
    if name == 'dgl':
        import_dgl()
        return 'dgl'
    if name == 'pyg':
        import_pyg()
        return 'pyg'
    errors = []
    for backend, load in (('dgl', import_dgl), ('pyg', import_pyg)):
        try:
            load()
            return backend
        except ImportError as e:
            errors.append(f'{backend}: {e}')
    raise ImportError(
        'The graph layers need DGL or PyTorch Geometric and neither loads. '
        f'Pinned stack: {_DGL_INSTALL}. Current torch: {_PYG_INSTALL}.\n' +
        '\n'.join(errors))


class DGLGraph:
    """A label graph on DGL's kernels.

    Args:
        src (torch.Tensor): ``[E]`` int64 source node of each edge.
        dst (torch.Tensor): ``[E]`` int64 destination node of each edge.
        num_nodes (int): Number of nodes K.
    """

    backend = 'dgl'

    def __init__(self, src: torch.Tensor, dst: torch.Tensor, num_nodes: int):
        self.dgl = import_dgl()
        self.graph = self.dgl.graph((src, dst), num_nodes=num_nodes,
                                    device=src.device)

    def u_add_v(self, x_src: torch.Tensor, x_dst: torch.Tensor) -> torch.Tensor:
        """``x_src[src_e] + x_dst[dst_e]`` per edge, ``[E, ...]``."""
        return self.dgl.ops.u_add_v(self.graph, x_src, x_dst)

    def edge_softmax(self, scores: torch.Tensor) -> torch.Tensor:
        """Softmax of edge scores ``[E, ...]`` over each node's in-edges."""
        return self.dgl.ops.edge_softmax(self.graph, scores)

    def u_mul_e_sum(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """``out[v] = sum over edges u->v of x[u] * w_e``, ``[K, ...]``."""
        return self.dgl.ops.u_mul_e_sum(self.graph, x, w)


class PyGGraph:
    """A label graph on PyTorch Geometric's ``softmax`` / ``scatter``.

    Args:
        src (torch.Tensor): ``[E]`` int64 source node of each edge.
        dst (torch.Tensor): ``[E]`` int64 destination node of each edge.
        num_nodes (int): Number of nodes K.
    """

    backend = 'pyg'

    def __init__(self, src: torch.Tensor, dst: torch.Tensor, num_nodes: int):
        self.softmax, self.scatter = import_pyg()
        self.src, self.dst, self.num_nodes = src, dst, num_nodes

    def u_add_v(self, x_src: torch.Tensor, x_dst: torch.Tensor) -> torch.Tensor:
        """``x_src[src_e] + x_dst[dst_e]`` per edge, ``[E, ...]``."""
        return x_src.index_select(0, self.src) + x_dst.index_select(0, self.dst)

    def edge_softmax(self, scores: torch.Tensor) -> torch.Tensor:
        """Softmax of edge scores ``[E, ...]`` over each node's in-edges."""
        return self.softmax(scores, self.dst, num_nodes=self.num_nodes, dim=0)

    def u_mul_e_sum(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """``out[v] = sum over edges u->v of x[u] * w_e``, ``[K, ...]``."""
        return self.scatter(x.index_select(0, self.src) * w, self.dst, dim=0,
                            dim_size=self.num_nodes, reduce='sum')


def backend_graph(backend: str, src: torch.Tensor, dst: torch.Tensor,
                num_nodes: int):
    """The graph of edges ``src -> dst`` on a backend.

    Args:
        backend (str): ``'dgl'`` or ``'pyg'`` (see
            :func:`resolve_graph_backend`).
        src (torch.Tensor): ``[E]`` int64 source nodes.
        dst (torch.Tensor): ``[E]`` int64 destination nodes.
        num_nodes (int): Number of nodes K.

    Returns:
        DGLGraph | PyGGraph: The graph the layers of this module take.
    """
    cls = {'dgl': DGLGraph, 'pyg': PyGGraph}[backend]
    return cls(src, dst, num_nodes)


@contextmanager
def float32_graph(x: torch.Tensor) -> Iterator[None]:
    """Autocast off on ``x``'s device within the block (the layers then run
    in their parameters' float32).

    Args:
        x (torch.Tensor): The node features (their device type is used).
    """
    with torch.autocast(device_type=x.device.type, enabled=False):
        yield


class GATLayer(nn.Module):
    """Multi-head graph attention, as ``dgl.nn.GATConv`` (no residual).

    ``e_uv = LeakyReLU(a_l . W x_u + a_r . W x_v)``, softmax over each
    node's in-edges, optionally scaled by edge weights, then
    ``out_v = sum_u a_uv W x_u + b`` per head.

    Args:
        in_channels (int): Input feature size.
        out_channels (int): Output size of each head.
        num_heads (int): Attention heads.
        feat_dropout (float): Dropout on the input features.
        attn_dropout (float): Dropout on the attention coefficients.
        negative_slope (float): LeakyReLU slope of the attention scores.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 num_heads: int,
                 feat_dropout: float = 0.0,
                 attn_dropout: float = 0.0,
                 negative_slope: float = 0.2):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_heads = num_heads
        self.negative_slope = negative_slope
        self.fc = nn.Linear(in_channels, out_channels * num_heads, bias=False)
        self.attn_l = nn.Parameter(torch.empty(1, num_heads, out_channels))
        self.attn_r = nn.Parameter(torch.empty(1, num_heads, out_channels))
        self.bias = nn.Parameter(torch.empty(num_heads * out_channels))
        self.feat_drop = nn.Dropout(feat_dropout)
        self.attn_drop = nn.Dropout(attn_dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """DGL's ``GATConv`` initialisation (Xavier normal, ReLU gain)."""
        gain = nn.init.calculate_gain('relu')
        for p in (self.fc.weight, self.attn_l, self.attn_r):
            nn.init.xavier_normal_(p, gain=gain)
        nn.init.zeros_(self.bias)

    def forward(self, graph, x: torch.Tensor,
                edge_weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Attend over the graph.

        Args:
            graph (DGLGraph | PyGGraph): From :func:`backend_graph`.
            x (torch.Tensor): ``[K, in_channels]`` node features.
            edge_weight (torch.Tensor, optional): ``[E]`` factors applied to
                the attention coefficients after the softmax.

        Returns:
            torch.Tensor: ``[K, num_heads, out_channels]``.
        """
        with float32_graph(x):
            x = x.to(self.fc.weight.dtype)
            ft = self.fc(self.feat_drop(x)).view(-1, self.num_heads,
                                                 self.out_channels)
            el = (ft * self.attn_l).sum(-1, keepdim=True)  # [K, H, 1]
            er = (ft * self.attn_r).sum(-1, keepdim=True)
            e = nn.functional.leaky_relu(graph.u_add_v(el, er),
                                         self.negative_slope)
            a = self.attn_drop(graph.edge_softmax(e))  # [E, H, 1]
            if edge_weight is not None:
                a = a * edge_weight.to(a.dtype).view(-1, 1, 1)
            out = graph.u_mul_e_sum(ft, a)
            return out + self.bias.view(1, self.num_heads, self.out_channels)


class GCNLayer(nn.Module):
    """Bias-free graph convolution on edge weights, as
    ``dgl.nn.GraphConv(norm='none', bias=False)``: ``out_v = sum_u w_uv x_u W``.

    Args:
        in_channels (int): Input feature size.
        out_channels (int): Output feature size.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.weight = nn.Parameter(torch.empty(in_channels, out_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """DGL's ``GraphConv`` initialisation (Xavier uniform)."""
        nn.init.xavier_uniform_(self.weight)

    def forward(self, graph, x: torch.Tensor,
                edge_weight: torch.Tensor) -> torch.Tensor:
        """Aggregate ``x W`` over the weighted in-edges.

        Args:
            graph (DGLGraph | PyGGraph): From :func:`backend_graph`.
            x (torch.Tensor): ``[K, in_channels]`` node features.
            edge_weight (torch.Tensor): ``[E]`` edge weights (ML-GCN's
                normalised adjacency).

        Returns:
            torch.Tensor: ``[K, out_channels]``.
        """
        with float32_graph(x):
            x = x.to(self.weight.dtype)
            w = edge_weight.to(x.dtype).view(-1, 1)
            if self.in_channels > self.out_channels:  # project first (DGL's order)
                return graph.u_mul_e_sum(x @ self.weight, w)
            return graph.u_mul_e_sum(x, w) @ self.weight

