"""Embedded benchmark v3 (data_prep/synthetic_v3.py) and its pretraining stream
(data_prep/synthetic_shapes.py): determinism, the dataset contract, what each modality shows."""

import json
import os.path as osp

import numpy as np
import pytest

from data_prep import synthetic_shapes, synthetic_v3


def test_render_is_deterministic_and_labels_are_the_8_classes():
    a = synthetic_v3.render_frame(np.random.default_rng(7))
    b = synthetic_v3.render_frame(np.random.default_rng(7))
    for k in ('rgb', 'thermal', 'depth', 'label'):
        assert np.array_equal(getattr(a, k), getattr(b, k)), k
    assert a.rgb.shape == (128, 160, 3) and a.rgb.dtype == np.uint8
    assert a.thermal.shape == a.label.shape == a.depth.shape == (128, 160)
    labels = np.concatenate([synthetic_v3.render_frame(np.random.default_rng(s)).label.ravel()
                             for s in range(12)])
    assert set(np.unique(labels)) <= set(range(len(synthetic_v3.CLASSES)))
    assert len(np.unique(labels)) == 8  # every class appears in a dozen frames


def test_low_light_rgb_is_noisy_but_thermal_is_not():
    """RGB at low exposure is posterised and noisy after the gain; thermal does not depend on the
    exposure: per-class thermal means are separated by far more than their spread."""
    frames = [synthetic_v3.render_frame(np.random.default_rng(s)) for s in range(20)]
    dark = [f for f in frames if f.exposure < 0.05]
    bright = [f for f in frames if f.exposure > 0.4]
    assert dark and bright

    def road_noise(f):  # median |difference| of horizontal neighbours inside the road
        m = (f.label == synthetic_v3.ROAD)[:, 1:] & (f.label == synthetic_v3.ROAD)[:, :-1]
        d = np.abs(f.rgb[:, 1:].astype(float) - f.rgb[:, :-1].astype(float))[m]
        return float(np.median(d)) if m.sum() > 50 else None

    dn = np.nanmean([road_noise(f) or np.nan for f in dark])
    bn = np.nanmean([road_noise(f) or np.nan for f in bright])
    assert dn > 1.5 * bn
    person = [f.thermal[f.label == synthetic_v3.PERSON].mean()
              - f.thermal[f.label == synthetic_v3.BG].mean()
              for f in frames if (f.label == synthetic_v3.PERSON).any()]
    assert min(person) > 15  # people are > 15 counts warmer than the background in every frame


def test_generate_writes_a_valid_dataset_with_three_splits(tmp_path):
    from crossmodal.datasets.contract import load_meta

    root = str(tmp_path / 'v3')
    meta = synthetic_v3.generate(root, splits={'train': 3, 'val': 2, 'test': 2}, progress=False)
    loaded = load_meta(root)
    assert loaded['classes'] == list(synthetic_v3.CLASSES)
    assert set(loaded['modalities']) == {'rgb', 'thermal', 'depth'}
    splits = {s: open(osp.join(root, f'{s}.txt')).read().split() for s in ('train', 'val', 'test')}
    assert [len(v) for v in splits.values()] == [3, 2, 2]
    assert not set(splits['train']) & set(splits['test'])
    # same arguments: a no-op; other arguments on its own output: replaced
    assert synthetic_v3.generate(root, splits={'train': 3, 'val': 2, 'test': 2},
                                 progress=False) == meta
    synthetic_v3.generate(root, splits={'train': 2, 'val': 1, 'test': 1}, progress=False)
    assert len(open(osp.join(root, 'train.txt')).read().split()) == 2
    # a folder it did not write is never replaced without --force
    other = tmp_path / 'other'
    other.mkdir()
    (other / 'keep.txt').write_text('mine')
    with pytest.raises(FileExistsError, match='--force'):
        synthetic_v3.generate(str(other), splits={'train': 1, 'val': 1, 'test': 1},
                              progress=False)
    from data_prep.check import check_dataset  # tools/check_dataset.py's checker

    report = check_dataset(root)
    assert report['ok'], report['problems']


def test_cli_rejects_a_bad_split_spec(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        synthetic_v3.main(['--out', str(tmp_path / 'x'), '--splits', 'train:10'])
    assert e.value.code == 2 and 'train=1000' in capsys.readouterr().err


def test_shapes_stream_is_deterministic_per_index():
    a_img, a_lab = synthetic_shapes.render_batch(3, 10, 2)
    b_img, b_lab = synthetic_shapes.render_batch(3, 11, 1)
    assert np.array_equal(a_img[1], b_img[0]) and np.array_equal(a_lab[1], b_lab[0])
    assert a_img.shape == (2, 128, 160, 3) and a_lab.max() < len(synthetic_shapes.CLASSES)
    assert json.dumps(list(synthetic_shapes.CLASSES))
