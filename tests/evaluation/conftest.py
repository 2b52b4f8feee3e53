import pytest


@pytest.fixture(scope='session')
def tiny_rgbt(tmp_path_factory):
    """A 16-frame 64x80 embedded RGB-T dataset (12 train / 4 test)."""
    from data_prep.synthetic import generate

    root = tmp_path_factory.mktemp('rgbt')
    generate(str(root), 'rgbt', num=16, height=64, width=80, progress=False)
    return str(root)
