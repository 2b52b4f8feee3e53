"""Generated datasets stay byte-identical: every file of a tiny synthetic RGB-T / RGB-D set, a tiny
synthetic forest and two tiny converter outputs (MFNet, PST900 fixtures) hashed against the hashes
recorded on the commit before the dataset writer was shared (``data/generated_hashes.json``).

The converters record their input folder in meta.json, so the temporary folder is replaced by
``<TMP>`` before meta.json is hashed. The hashes depend on the pinned numpy / OpenCV (PNG encoder);
to re-record them after a deliberate format change:
``python tests/datasets/test_generated_bytes.py``.
"""

import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, 'data', 'generated_hashes.json')


def _hashes(root: str, tmp: str) -> dict:
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            with open(p, 'rb') as fh:
                data = fh.read()
            if f == 'meta.json':
                data = data.replace(tmp.encode(), b'<TMP>')
            out[os.path.relpath(p, root).replace(os.sep, '/')] = hashlib.sha256(data).hexdigest()
    return dict(sorted(out.items()))


def generate_all(tmp: str) -> dict:
    from crossmodal.datasets.lidar.synthetic import SyntheticForestConfig, write_synthetic_forest
    from data_prep.fixtures import convert_fixture
    from data_prep.synthetic import generate

    generate(os.path.join(tmp, 'rgbt'), 'rgbt', num=4, seed=3, height=32, width=40, progress=False)
    generate(os.path.join(tmp, 'rgbd'), 'rgbd', num=4, seed=5, height=32, width=40, progress=False)
    write_synthetic_forest(
        os.path.join(tmp, 'forest'),
        SyntheticForestConfig(seed=1, size_px=64, pulse_density=2.0),
        tile_size=32,
        cell_multiple=2,
        progress=False,
    )
    for kind in ('mfnet', 'pst900'):
        convert_fixture(
            kind,
            os.path.join(tmp, f'{kind}_raw'),
            os.path.join(tmp, kind),
            fixture_kwargs={'hw': (24, 32)},
        )
    return {
        k: _hashes(os.path.join(tmp, k), tmp) for k in ('rgbt', 'rgbd', 'forest', 'mfnet', 'pst900')
    }


def test_generated_datasets_byte_identical(tmp_path):
    with open(GOLDEN) as f:
        want = json.load(f)
    got = generate_all(str(tmp_path))
    for name in want:
        assert sorted(got[name]) == sorted(want[name]), f'{name}: files differ'
        changed = [p for p in want[name] if got[name][p] != want[name][p]]
        assert not changed, f'{name}: bytes changed in {changed}'


if __name__ == '__main__':
    import tempfile

    sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
    with tempfile.TemporaryDirectory() as tmp:
        res = generate_all(os.path.realpath(tmp))
    with open(GOLDEN, 'w') as f:
        json.dump(res, f, indent=1, sort_keys=True)
        f.write('\n')
    print(f'wrote {GOLDEN}')
