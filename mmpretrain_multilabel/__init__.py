"""mmpretrain-multilabel: an MMPretrain plugin for multilabel classification.

Importing the package registers every component into MMPretrain's registries
(``mmpretrain.registry``), so a config only needs::

    custom_imports = dict(imports=['mmpretrain_multilabel'])
"""
from . import datasets, engine, evaluation, models  # noqa: F401
from .version import __version__

__all__ = ['__version__']
