"""Fixtures of the end-to-end tests."""

import pytest


@pytest.fixture(scope='module')
def tiny_rgbt(tmp_path_factory):
    from data_prep.synthetic import generate

    root = tmp_path_factory.mktemp('data') / 'rgbt'
    generate(str(root), 'rgbt', num=10, height=64, width=80, progress=False)
    return str(root)
