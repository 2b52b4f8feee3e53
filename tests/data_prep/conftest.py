"""Fixtures for the data_prep tests: converted tiny datasets, built once per session and copied per
test."""

import shutil

import pytest

from data_prep.fixtures import convert_fixture


@pytest.fixture(scope='session')
def _nyu_converted(tmp_path_factory):
    base = tmp_path_factory.mktemp('nyu_session')
    return convert_fixture('nyudv2', base / 'raw', base / 'NYUDepthv2')


@pytest.fixture
def nyu_dataset(_nyu_converted, tmp_path):
    """A fresh copy of the converted tiny NYUDv2 fixture (safe to damage)."""
    dst = tmp_path / 'NYUDepthv2'
    shutil.copytree(_nyu_converted, dst)
    return str(dst)
