"""The command-line scripts of ``tools/`` and ``benchmarks/`` as modules.

They are scripts, not a package: each is loaded from its file (its own
imports are the installed ``mmpretrain_multilabel``), without touching
``sys.path``.
"""
import importlib.util
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_script(path: str):
    """The module of the script at ``path`` (relative to the repository
    root, e.g. ``'tools/infer.py'``), executed once per call."""
    name = 'script_' + osp.splitext(path)[0].replace('/', '_').replace('.', '_')
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
