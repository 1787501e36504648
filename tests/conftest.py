import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def find_fixture(name: str) -> str:
    """Root of the ``name`` photo fixture: a link inside the checkout (the
    configs' data_root), else the shared data folder beside the checkout (as on
    CI); skips with the places looked at when both are absent."""
    places = (osp.join(ROOT, 'data', name), osp.join(osp.dirname(ROOT), 'shared', 'data', name))
    for place in places:
        if osp.isdir(osp.join(place, 'train2017')):
            return place
    pytest.skip(f'{name} fixture not found at ' + ' or '.join(places)
                + f' (ln -s /path/to/{name} data/{name})')


@pytest.fixture(scope='session')
def coco128_root():
    """Root of the coco128 fixture (126 annotated COCO-2017 photos)."""
    return find_fixture('coco128')


@pytest.fixture(scope='session')
def coco319_root():
    """Root of the coco319 fixture (coco128 and 191 more; 315 annotated)."""
    return find_fixture('coco319')
