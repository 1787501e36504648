"""Helpers shared by the dataset tests."""
import mmengine.dataset.base_dataset as mmengine_base_dataset
import pytest
from PIL import Image


@pytest.fixture(autouse=True)
def fast_gc(monkeypatch):
    """Skip the ``gc.collect()`` MMEngine runs after building every dataset:
    with torch loaded it costs about 0.5 s per build, and these tests build
    hundreds of tiny datasets. The code paths stay the same."""
    monkeypatch.setattr(mmengine_base_dataset.gc, 'collect', lambda *a: 0)


def make_image(path, size=(24, 16), color=(200, 30, 30)):
    """Write a small RGB JPEG/PNG and return its path as str."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new('RGB', size, color).save(path)
    return str(path)
