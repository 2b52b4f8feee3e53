"""Writer utilities: image I/O dtypes, palettes, split files, output guard, --force and resume."""

import json
import os

import cv2
import numpy as np
import pytest

from data_prep import common, fixtures, mfnet, pst900, rgbt_folders
from data_prep.check import check_dataset
from data_prep.common import PrepError


def test_write_image_keeps_uint16_and_converts_rgb(tmp_path):
    d = np.array([[0, 1, 65535], [1000, 40000, 7]], np.uint16)
    common.write_image(str(tmp_path / 'd.png'), d)
    back = cv2.imread(str(tmp_path / 'd.png'), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16 and np.array_equal(back, d)
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[..., 0] = 200  # red
    common.write_image(str(tmp_path / 'c.png'), rgb)
    assert cv2.imread(str(tmp_path / 'c.png'))[0, 0].tolist() == [0, 0, 200]  # cv2 reads BGR
    assert not any(n.endswith('.part') for n in os.listdir(tmp_path))


def test_write_image_refuses_uint16_jpeg(tmp_path):
    with pytest.raises(PrepError, match='lossless'):
        common.write_image(str(tmp_path / 'd.jpg'), np.zeros((2, 2), np.uint16))


def test_voc_palette_known_entries():
    pal = common.voc_palette(41)
    # values checked against SA-Gate ColoredLabel/0.png (data.md §1.4):
    # 1 -> (128,0,0), 12 -> (64,0,128)
    assert pal[0] == [0, 0, 0] and pal[1] == [128, 0, 0] and pal[2] == [0, 128, 0]
    assert pal[3] == [128, 128, 0] and pal[4] == [0, 0, 128] and pal[12] == [64, 0, 128]


def test_colorize_uses_offset_and_void():
    lab = np.array([[0, 1, 2, 255]], np.uint8)
    out = common.colorize(lab, [[10, 10, 10], [20, 20, 20]], label_offset=-1, void_color=(1, 2, 3))
    assert out[0].tolist() == [[1, 2, 3], [10, 10, 10], [20, 20, 20], [1, 2, 3]]


def test_split_files_both_styles(tmp_path):
    names = common.write_split_files(
        str(tmp_path),
        'train',
        ['0', '5'],
        {'folder': 'RGB', 'ext': '.jpg'},
        {'folder': 'Label', 'ext': '.png'},
    )
    assert names == {'stems': 'train.txt', 'pairs': 'train_pairs.txt'}
    assert (tmp_path / 'train.txt').read_text() == '0\n5\n'
    lines = (tmp_path / 'train_pairs.txt').read_text().splitlines()
    assert lines == ['RGB/0.jpg\tLabel/0.png', 'RGB/5.jpg\tLabel/5.png']
    # DFormer's parser: line.split('/')[1].split('.jpg')[0]
    assert [ln.split('/')[1].split('.jpg')[0] for ln in lines] == ['0', '5']


def test_existing_output_needs_force(tmp_path):
    fx = fixtures.write_pst900_raw(tmp_path / 'raw')
    out = tmp_path / 'out'
    pst900.convert(out=str(out), quiet=True, **fx['args'])
    with pytest.raises(PrepError, match='--force'):
        pst900.convert(out=str(out), quiet=True, **fx['args'])
    stale = out / 'RGB' / 'stale.png'
    cv2.imwrite(str(stale), np.zeros((2, 2, 3), np.uint8))
    (out / 'notes.md').write_text('keep me')
    pst900.convert(out=str(out), quiet=True, force=True, **fx['args'])
    assert not stale.exists()  # --force rewrote the converter's folders
    assert (out / 'notes.md').read_text() == 'keep me'  # ... and left other files alone
    assert check_dataset(str(out))['ok']


def test_unrelated_nonempty_dir_is_refused(tmp_path):
    fx = fixtures.write_pst900_raw(tmp_path / 'raw')
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'something.txt').write_text('x')
    with pytest.raises(PrepError, match='not empty'):
        pst900.convert(out=str(out), quiet=True, **fx['args'])


def test_resume_after_interruption(tmp_path, monkeypatch):
    fx = fixtures.write_pst900_raw(tmp_path / 'raw', n_train=3, n_test=2)
    out = tmp_path / 'out'
    real = rgbt_folders.read_thermal
    calls = []

    def flaky(path):
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the user pressed Ctrl-C during the 3rd sample
        return real(path)

    monkeypatch.setattr(rgbt_folders, 'read_thermal', flaky)
    with pytest.raises(KeyboardInterrupt):
        pst900.convert(out=str(out), quiet=True, **fx['args'])
    assert (out / common.STATE_FILE).exists() and not (out / 'meta.json').exists()
    done = sorted(os.listdir(out / 'Label'))
    assert len(done) == 2
    mtimes = {n: os.stat(out / 'Label' / n).st_mtime_ns for n in done}

    calls.clear()
    monkeypatch.setattr(rgbt_folders, 'read_thermal', lambda p: (calls.append(p), real(p))[1])
    pst900.convert(out=str(out), quiet=True, **fx['args'])  # no --force needed: it resumes
    assert len(calls) == 3  # only the 3 missing samples were read
    assert {n: os.stat(out / 'Label' / n).st_mtime_ns for n in done} == mtimes
    assert not (out / common.STATE_FILE).exists()
    assert check_dataset(str(out))['ok']


def test_resume_with_other_options_is_refused(tmp_path, monkeypatch):
    fx = fixtures.write_mfnet_raw(tmp_path / 'raw')
    out = tmp_path / 'out'
    monkeypatch.setattr(
        common.DatasetWriter, 'finalize', lambda self, **k: None
    )  # "interrupted" at the end
    mfnet.convert(out=str(out), quiet=True, **fx['args'])
    monkeypatch.undo()
    with pytest.raises(PrepError, match='unfinished run'):
        mfnet.convert(out=str(out), quiet=True, trainval=True, **fx['args'])
    mfnet.convert(out=str(out), quiet=True, trainval=False, **fx['args'])
    meta = json.loads((out / 'meta.json').read_text())
    assert meta['converter_options'] == {'trainval': False}


def test_writer_rejects_wrong_dtype(tmp_path):
    w = common.DatasetWriter(
        str(tmp_path / 'o'),
        converter='t',
        options={},
        modalities={
            'rgb': {'folder': 'RGB', 'ext': '.png', 'dtype': 'uint8', 'channels': 3},
            'depth': {'folder': 'Depth', 'ext': '.png', 'dtype': 'uint16', 'channels': 1},
        },
    )
    lab = np.zeros((4, 5), np.uint8)
    with pytest.raises(PrepError, match='depth is uint8'):
        w.write('a', label=lab, rgb=np.zeros((4, 5, 3), np.uint8), depth=np.zeros((4, 5), np.uint8))
    with pytest.raises(PrepError, match='depth is \\(4, 6\\)'):
        w.write(
            'a', label=lab, rgb=np.zeros((4, 5, 3), np.uint8), depth=np.zeros((4, 6), np.uint16)
        )
