"""Each converter's default --out, its docstring usage and data_prep/README.md name the config's
data_root."""

import importlib
import os.path as osp
import re

import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PAIRS = [
    ('nyudv2', 'nyudv2_rgbd'),
    ('sunrgbd', 'sunrgbd_rgbd'),
    ('mfnet', 'mfnet_rgbt'),
    ('pst900', 'pst900_rgbt'),
    ('fmb', 'fmb_rgbt'),
]


@pytest.mark.parametrize('converter,config', PAIRS)
def test_converter_root_matches_config(converter, config):
    mod = importlib.import_module(f'data_prep.{converter}')
    data_root = Config.fromfile(osp.join(ROOT, 'configs/_base_/datasets', f'{config}.py')).data_root
    assert mod.DEFAULT_OUT == data_root
    # the CLI default
    parser_out = re.search(r'--out (\S+)', mod.__doc__).group(1)
    assert parser_out == data_root, f'data_prep/{converter}.py usage writes {parser_out}'
    readme = open(osp.join(ROOT, 'data_prep/README.md')).read()
    row = next(
        ln for ln in readme.splitlines() if f'data_prep/{converter}.py' in ln and ln.startswith('|')
    )
    assert f'--out {data_root}' in row
    # no other spelling of the root anywhere in the docs
    name = data_root.split('/', 1)[1]
    for doc in ('README.md', 'data_prep/README.md', 'tools/check_dataset.py'):
        text = open(osp.join(ROOT, doc)).read()
        assert 'data/NYUDepthv2' not in text, doc  # the old NYU root
        for other in re.findall(r'data/(\w+)', text):
            if other.lower() == name.lower():
                assert other == name, f'{doc} spells data/{other}, the config reads {data_root}'


def test_cli_default_out(monkeypatch, tmp_path):
    """Without --out the converter writes to DEFAULT_OUT (relative to the working directory)."""
    from data_prep import fixtures, mfnet

    fx = fixtures.write_mfnet_raw(tmp_path / 'raw')
    monkeypatch.chdir(tmp_path)
    assert mfnet.main(['--root', fx['args']['root'], '--quiet']) == 0
    assert (tmp_path / mfnet.DEFAULT_OUT / 'meta.json').is_file()
