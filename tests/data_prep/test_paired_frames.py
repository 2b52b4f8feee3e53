"""data_prep/paired_frames.py: a standalone folder of paired RGB-thermal frames without labels ->
an unlabelled dataset (no Label folder, one ``unlabelled`` split), on tiny synthetic folders. The
real MSRS frames: tests/e2e/test_msrs_pool_e2e.py."""

import json
import os

import cv2
import numpy as np
import pytest

from data_prep import common, fixtures, mfnet, paired_frames
from data_prep.check import check_dataset
from data_prep.common import PrepError


def _pool(tmp_path, **kw):
    return fixtures.write_paired_frames_raw(tmp_path / 'raw', **kw)


def test_pool_converts_without_labels(tmp_path):
    fx = _pool(tmp_path, n=4)
    out = tmp_path / 'pool'
    paired_frames.convert(out=str(out), quiet=True, **fx['args'])
    names = fx['splits']['unlabelled']
    assert sorted(os.listdir(out)) == [
        'RGB',
        'Thermal',
        'meta.json',
        'unlabelled.txt',
        'unlabelled_pairs.txt',
    ]  # no Label folder, no resume state left
    assert (out / 'unlabelled.txt').read_text().split() == names
    assert (out / 'unlabelled_pairs.txt').read_text().splitlines() == [
        f'RGB/{n}.png' for n in names
    ]
    meta = json.loads((out / 'meta.json').read_text())
    assert meta['splits'] == {'unlabelled': 'unlabelled.txt'}
    assert meta['unlabelled_splits'] == ['unlabelled'] and meta['split_sizes'] == {'unlabelled': 4}
    assert meta['classes'] == list(mfnet.CLASSES)
    assert meta['palette'] == [list(c) for c in mfnet.PALETTE]
    assert meta['classes_source'] == 'data_prep/mfnet.py (CLASSES, PALETTE)'
    assert meta['modalities']['thermal'] == {
        'folder': 'Thermal',
        'ext': '.png',
        'dtype': 'uint8',
        'channels': 1,
    }
    for n in names:  # lossless: the arrays written by the fixture come back
        rgb = cv2.imread(str(out / 'RGB' / f'{n}.png'), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
        th = cv2.imread(str(out / 'Thermal' / f'{n}.png'), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(rgb, fx['truth'][n]['rgb'])
        assert np.array_equal(th, fx['truth'][n]['thermal'])
    report = check_dataset(str(out))
    assert report['ok'], report['problems']
    assert report['summary']['counts'] == {'unlabelled': 4}
    assert report['summary']['unlabelled_splits'] == ['unlabelled']


def test_other_folder_names_jpeg_rgba_and_grey_thermal(tmp_path):
    """VIF-Benchmark's copy of MSRS names its folders vi/ and ir/; a JPEG colour frame, an RGBA
    PNG and a thermal stored as 3 identical channels are accepted."""
    fx = _pool(tmp_path, n=3, rgb_dir='vi', thermal_dir='ir')
    src = fx['args']['src']
    a, b, c = fx['splits']['unlabelled']
    bgr = cv2.imread(os.path.join(src, 'vi', f'{a}.png'))
    os.remove(os.path.join(src, 'vi', f'{a}.png'))
    cv2.imwrite(os.path.join(src, 'vi', f'{a}.jpg'), bgr)
    cv2.imwrite(
        os.path.join(src, 'vi', f'{b}.png'),
        np.dstack([fx['truth'][b]['rgb'][:, :, ::-1], np.full(bgr.shape[:2], 255, np.uint8)]),
    )
    cv2.imwrite(os.path.join(src, 'ir', f'{c}.png'), np.dstack([fx['truth'][c]['thermal']] * 3))
    out = tmp_path / 'pool'
    paired_frames.convert(out=str(out), quiet=True, **fx['args'])
    assert (out / 'unlabelled.txt').read_text().split() == [a, b, c]
    rgb_b = cv2.imread(str(out / 'RGB' / f'{b}.png'), cv2.IMREAD_UNCHANGED)
    assert rgb_b.shape[2] == 3 and np.array_equal(rgb_b[:, :, ::-1], fx['truth'][b]['rgb'])
    th_c = cv2.imread(str(out / 'Thermal' / f'{c}.png'), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(th_c, fx['truth'][c]['thermal'])
    assert check_dataset(str(out))['ok']


def test_a_frame_without_partner_is_named(tmp_path):
    fx = _pool(tmp_path, n=3)
    src = fx['args']['src']
    lone = fx['splits']['unlabelled'][1]
    os.remove(os.path.join(src, 'Thermal', f'{lone}.png'))
    with pytest.raises(
        PrepError, match=rf'RGB: 1 frame\(s\) without a thermal partner .*{lone}\.png'
    ):
        paired_frames.convert(out=str(tmp_path / 'o'), quiet=True, **fx['args'])
    assert not (tmp_path / 'o').exists()  # refused before anything is written

    fx = _pool(tmp_path / 'b', n=2)
    src = fx['args']['src']
    cv2.imwrite(os.path.join(src, 'Thermal', 'extra_ir.png'), np.zeros((24, 32), np.uint8))
    with pytest.raises(PrepError, match='Thermal: 1 frame.* without a RGB partner .*extra_ir.png'):
        paired_frames.convert(out=str(tmp_path / 'o'), quiet=True, **fx['args'])


def test_size_mismatch_names_both_files(tmp_path):
    fx = _pool(tmp_path, n=2)
    src = fx['args']['src']
    bad = fx['splits']['unlabelled'][1]
    cv2.imwrite(os.path.join(src, 'Thermal', f'{bad}.png'), np.zeros((20, 32), np.uint8))
    with pytest.raises(
        PrepError,
        match=rf'Thermal/{bad}\.png: size 20x32 .* differs from its RGB frame .*RGB/{bad}',
    ):
        paired_frames.convert(out=str(tmp_path / 'o'), quiet=True, **fx['args'])


@pytest.mark.parametrize(
    'breakage,match',
    [
        ('no_src', r'raw_missing: source folder not found'),
        ('no_thermal_dir', r'Thermal: thermal folder not found'),
        ('empty_rgb', r'RGB: no RGB images'),
        ('unreadable', r'RGB/00004D\.png: cannot be decoded'),
        ('colour_thermal', r'Thermal/00004D\.png: expected a single-channel image'),
        ('grey_rgb', r'RGB/00004D\.png: expected an 8-bit colour image'),
        ('16bit_thermal', r'Thermal/00004D\.png: thermal is uint16, expected 8-bit'),
        ('two_exts', r"RGB: RGB frame '00004D' appears twice \(00004D\.jpg and 00004D\.png\)"),
        ('space', r'RGB/a b\.png: file name has whitespace'),
    ],
)
def test_bad_input_is_a_clear_error(tmp_path, breakage, match):
    fx = _pool(tmp_path, n=2)
    src = fx['args']['src']
    rgb0 = os.path.join(src, 'RGB', '00004D.png')
    th0 = os.path.join(src, 'Thermal', '00004D.png')
    if breakage == 'no_src':
        fx['args']['src'] = str(tmp_path / 'raw_missing')
    elif breakage == 'no_thermal_dir':
        for f in os.listdir(os.path.join(src, 'Thermal')):
            os.remove(os.path.join(src, 'Thermal', f))
        os.rmdir(os.path.join(src, 'Thermal'))
    elif breakage == 'empty_rgb':
        for f in os.listdir(os.path.join(src, 'RGB')):
            os.remove(os.path.join(src, 'RGB', f))
    elif breakage == 'unreadable':
        data = open(rgb0, 'rb').read()
        open(rgb0, 'wb').write(data[:40])
    elif breakage == 'colour_thermal':
        cv2.imwrite(th0, np.random.default_rng(0).integers(0, 256, (24, 32, 3), np.uint8))
    elif breakage == 'grey_rgb':
        cv2.imwrite(rgb0, np.zeros((24, 32), np.uint8))
    elif breakage == '16bit_thermal':
        cv2.imwrite(th0, np.full((24, 32), 1000, np.uint16))
    elif breakage == 'two_exts':
        cv2.imwrite(os.path.join(src, 'RGB', '00004D.jpg'), np.zeros((24, 32, 3), np.uint8))
    elif breakage == 'space':
        cv2.imwrite(os.path.join(src, 'RGB', 'a b.png'), np.zeros((24, 32, 3), np.uint8))
        cv2.imwrite(os.path.join(src, 'Thermal', 'a b.png'), np.zeros((24, 32), np.uint8))
    with pytest.raises(PrepError, match=match):
        paired_frames.convert(out=str(tmp_path / 'o'), quiet=True, **fx['args'])


def test_classes_come_from_exactly_one_source(tmp_path):
    fx = _pool(tmp_path, n=2)
    args = dict(fx['args'])
    del args['classes_like']
    with pytest.raises(PrepError, match='give exactly one of --classes-like'):
        paired_frames.convert(out=str(tmp_path / 'o'), quiet=True, **args)
    with pytest.raises(PrepError, match='give exactly one'):
        paired_frames.convert(
            out=str(tmp_path / 'o'), quiet=True, classes_like='mfnet', classes_from='x', **args
        )
    with pytest.raises(PrepError, match="--classes-like 'nope': unknown"):
        paired_frames.convert(out=str(tmp_path / 'o'), quiet=True, classes_like='nope', **args)
    with pytest.raises(PrepError, match='--classes-from: .*meta.json is missing'):
        paired_frames.convert(
            out=str(tmp_path / 'o'), quiet=True, classes_from=str(tmp_path), **args
        )
    # from a converted dataset (its root or its meta.json): classes, palette and label offset
    fmb_root = fixtures.convert_fixture('fmb', tmp_path / 'fmb_raw', tmp_path / 'FMB')
    out = tmp_path / 'pool'
    paired_frames.convert(out=str(out), quiet=True, classes_from=fmb_root, **args)
    meta, ref = (json.loads(open(os.path.join(p, 'meta.json')).read()) for p in (out, fmb_root))
    assert meta['classes'] == ref['classes'] and meta['palette'] == ref['palette']
    assert meta['label_offset'] == ref['label_offset'] == -1
    assert meta['classes_source'] == os.path.join(fmb_root, 'meta.json')


def test_cli_refuses_to_overwrite_and_reports_errors(tmp_path, capsys):
    fx = _pool(tmp_path, n=2)
    out = str(tmp_path / 'pool')
    argv = ['--src', fx['args']['src'], '--out', out, '--classes-like', 'mfnet', '--quiet']
    assert paired_frames.main(argv) == 0
    assert paired_frames.main(argv) == 1
    assert 'output exists and is not empty' in capsys.readouterr().err
    assert paired_frames.main(argv + ['--force', '--name', 'MSRS']) == 0
    assert json.loads(open(os.path.join(out, 'meta.json')).read())['name'] == 'MSRS'
    assert (
        paired_frames.main(
            [
                '--src',
                str(tmp_path / 'none'),
                '--out',
                out + '2',
                '--classes-like',
                'mfnet',
                '--quiet',
            ]
        )
        == 1
    )
    assert 'error: ' in capsys.readouterr().err and not os.path.exists(out + '2')
    with pytest.raises(SystemExit):  # argparse: one of the two class sources is required
        paired_frames.main(['--src', fx['args']['src'], '--out', out + '3'])


def test_interrupted_run_resumes(tmp_path, monkeypatch):
    fx = _pool(tmp_path, n=3)
    out = tmp_path / 'pool'
    real = paired_frames.read_thermal
    calls = []

    def failing(path):
        calls.append(path)
        if len(calls) == 3:
            raise PrepError(f'{path}: simulated crash')
        return real(path)

    monkeypatch.setattr(paired_frames, 'read_thermal', failing)
    with pytest.raises(PrepError, match='simulated crash'):
        paired_frames.convert(out=str(out), quiet=True, **fx['args'])
    assert not (out / 'meta.json').exists() and len(os.listdir(out / 'RGB')) == 2
    calls.clear()
    monkeypatch.setattr(paired_frames, 'read_thermal', real)
    paired_frames.convert(out=str(out), quiet=True, **fx['args'])  # the same command resumes
    assert check_dataset(str(out))['ok']


def test_writer_without_labels(tmp_path):
    """DatasetWriter(labels=False): no Label folder, a label map refused, only unlabelled splits."""
    mods = {'rgb': {'folder': 'RGB', 'ext': '.png', 'dtype': 'uint8', 'channels': 3}}
    w = common.DatasetWriter(
        str(tmp_path / 'o'), converter='t', options={}, modalities=mods, labels=False
    )
    assert sorted(os.listdir(tmp_path / 'o')) == ['.prep_state.json', 'RGB']
    rgb = np.zeros((4, 5, 3), np.uint8)
    with pytest.raises(PrepError, match='this dataset has no labels'):
        w.write('a', label=np.zeros((4, 5), np.uint8), rgb=rgb)
    w.write('a', label=None, rgb=rgb)
    assert w.is_done('a') and w.is_done('a', labelled=False)
    kw = dict(name='t', classes=['x'], palette=[[0, 0, 0]], label_offset=0, split_source='t')
    with pytest.raises(ValueError, match=r"splits \['train'\] are not in unlabelled_splits"):
        w.finalize(splits={'train': ['a']}, **kw)
    meta = w.finalize(splits={'pool': ['a']}, unlabelled_splits=('pool',), **kw)
    assert meta['unlabelled_splits'] == ['pool'] and meta['label'] == {
        'folder': 'Label',
        'ext': '.png',
    }
    assert not (tmp_path / 'o' / 'Label').exists() and check_dataset(str(tmp_path / 'o'))['ok']


def test_exclude_stems_keeps_evaluation_frames_out(tmp_path):
    """--exclude-stems: MSRS keeps MFNet's frame names, so an MFNet split file can be left out."""
    fx = _pool(tmp_path, n=4)
    names = fx['splits']['unlabelled']
    stems_file = tmp_path / 'test.txt'
    stems_file.write_text(f'{names[0]}\n\n{names[2]}\nnot_in_the_pool\n')
    pairs_file = tmp_path / 'test_pairs.txt'
    pairs_file.write_text(f'RGB/{names[3]}.png\tLabel/{names[3]}.png\n')
    out = tmp_path / 'pool'
    argv = ['--src', fx['args']['src'], '--out', str(out), '--classes-like', 'mfnet', '--quiet']
    assert paired_frames.main(argv + ['--exclude-stems', str(stems_file), str(pairs_file)]) == 0
    assert (out / 'unlabelled.txt').read_text().split() == [names[1]]
    meta = json.loads((out / 'meta.json').read_text())
    assert meta['excluded_frames'] == 3 and '3 frame(s) listed in' in meta['split_source']
    assert check_dataset(str(out))['ok']
    everything = tmp_path / 'all.txt'
    everything.write_text('\n'.join(names) + '\n')
    with pytest.raises(PrepError, match='all 4 frames are listed in --exclude-stems'):
        paired_frames.convert(
            out=str(tmp_path / 'o'), quiet=True, exclude=[str(everything)], **fx['args']
        )
    with pytest.raises(PrepError, match='nope.txt: split file not found'):
        paired_frames.convert(
            out=str(tmp_path / 'o'), quiet=True, exclude=[str(tmp_path / 'nope.txt')], **fx['args']
        )
