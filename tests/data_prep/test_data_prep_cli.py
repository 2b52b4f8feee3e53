"""Each converter's command line (in-process main(argv)): writes, refuses to overwrite, --force
rewrites."""

import pytest

from data_prep import fixtures, fmb, mfnet, pst900, sunrgbd
from data_prep.check import check_dataset


def _argv(name, args):
    flags = {
        'root': '--root',
        'labels': '--labels',
        'train_list': '--train-list',
        'test_list': '--test-list',
    }
    out = []
    for k, v in args.items():
        out += [flags[k], v]
    return out


@pytest.mark.parametrize(
    'name,mod,extra',
    [
        ('mfnet', mfnet, ['--trainval']),
        ('pst900', pst900, []),
        ('fmb', fmb, []),
        ('sunrgbd', sunrgbd, ['--depth-source', 'raw']),
    ],
)
def test_main(tmp_path, capsys, name, mod, extra):
    fx = fixtures.WRITERS[name](tmp_path / 'raw')
    argv = _argv(name, fx['args']) + ['--out', str(tmp_path / 'out'), '--quiet'] + extra
    assert mod.main(argv) == 0
    assert check_dataset(str(tmp_path / 'out'))['ok']
    assert mod.main(argv) == 1
    assert '--force' in capsys.readouterr().err
    assert mod.main(argv + ['--force']) == 0


def test_convert_fixture_sizes(tmp_path):
    from data_prep.fixtures import convert_fixture

    out = convert_fixture(
        'fmb', tmp_path / 'raw', tmp_path / 'FMB', fixture_kwargs={'hw': (64, 48), 'n_train': 4}
    )
    report = check_dataset(out)
    assert report['ok'] and report['summary']['image_sizes'] == {'64x48': 6}
    assert report['summary']['counts'] == {'train': 4, 'test': 2}
