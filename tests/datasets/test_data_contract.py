"""Nothing lost, nothing silently wrong: the loader, RGBXSegDataset construction and
tools/check_dataset.py apply the same rules (crossmodal/datasets/validation.py) to NaN/inf inputs,
truncated JPEGs, palette labels, empty or unlisted splits, unlabelled splits, and check every listed
file's header up front."""

import json
import shutil
import time

import cv2
import numpy as np
import pytest

import crossmodal  # noqa: F401
from crossmodal.datasets import DataFileError, DatasetLayoutError, RGBXSegDataset
from crossmodal.datasets.transforms import LoadMultiModalFromFile, SampleLoadError
from data_prep.check import check_dataset, format_report
from data_prep.synthetic import generate

H, W = 32, 40


@pytest.fixture
def rgbt_root(tmp_path):
    root = tmp_path / 'rgbt'
    generate(str(root), 'rgbt', num=5, height=H, width=W, progress=False)
    return root


def _float_thermal(root, ext, bad_stem='00001'):
    """Thermal re-stored as float32 Kelvin (.tif or .npy); one 20x20 NaN patch in ``bad_stem``."""
    meta = json.loads((root / 'meta.json').read_text())
    meta['modalities']['thermal'] = {
        'folder': 'ThermalF',
        'ext': ext,
        'dtype': 'float32',
        'channels': 1,
        'unit': 'K',
    }
    (root / 'meta.json').write_text(json.dumps(meta))
    (root / 'ThermalF').mkdir()
    for i in range(5):
        stem = f'{i:05d}'
        t = (
            280.0 + cv2.imread(str(root / 'Thermal' / f'{stem}.png'), cv2.IMREAD_UNCHANGED) / 10
        ).astype(np.float32)
        if stem == bad_stem:
            t[5:25, 10:30] = np.nan
        path = str(root / 'ThermalF' / f'{stem}{ext}')
        np.save(path, t) if ext == '.npy' else cv2.imwrite(path, t)
    return root / 'ThermalF' / f'{bad_stem}{ext}'


def _sample(root, idx, split='train', modalities=('rgb', 'thermal'), **kw):
    ds = RGBXSegDataset(str(root), split=split, modalities=modalities, **kw)
    return LoadMultiModalFromFile()(ds.get_data_info(idx))


# ------------------------------------------------------------ 1. NaN / inf in a float input


@pytest.mark.parametrize('ext', ['.tif', '.npy'])
def test_nan_patch_in_float_thermal_is_refused_by_loader_with_count(rgbt_root, ext):
    bad = _float_thermal(rgbt_root, ext)
    r = _sample(rgbt_root, 0)  # a clean float file loads as stored
    assert (
        r['modalities']['thermal'].dtype == np.float32 and 280 <= r['modalities']['thermal'].min()
    )
    with pytest.raises(SampleLoadError, match=rf'{bad.name}: 400 non-finite pixel\(s\) in thermal'):
        _sample(rgbt_root, 1)


def test_inf_in_float_input_is_refused(rgbt_root):
    _float_thermal(rgbt_root, '.npy', bad_stem='none')
    p = rgbt_root / 'ThermalF' / '00002.npy'
    t = np.load(p)
    t[0, :3] = [np.inf, -np.inf, np.nan]
    np.save(p, t)
    with pytest.raises(
        SampleLoadError, match=r'00002\.npy: 3 non-finite pixel\(s\).*NaN values 1, inf values 2'
    ):
        _sample(rgbt_root, 2)


def test_checker_reports_nonfinite_pixels_and_units(rgbt_root):
    bad = _float_thermal(rgbt_root, '.tif')
    report = check_dataset(str(rgbt_root))
    kinds = [p['kind'] for p in report['problems']]
    assert kinds == ['nonfinite']
    (p,) = report['problems']
    assert p['path'] == str(bad) and p['count'] == 400 and p['stem'] == '00001'
    vr = report['summary']['value_range']['thermal']
    assert (
        vr['unit'] == 'K' and vr['nonfinite_pixels'] == 400 and 280 <= vr['min'] < vr['max'] <= 306
    )
    line = [ln for ln in format_report(report).splitlines() if 'thermal range' in ln][0]
    assert ' K ' in line and 'non-finite pixels 400' in line and ' m ' not in line


def test_thermal_range_printed_in_its_own_units(rgbt_root):
    report = check_dataset(str(rgbt_root))
    assert report['ok']
    vr = report['summary']['value_range']['thermal']
    assert vr['unit'] == 'raw' and 0 < vr['min'] < vr['max'] <= 255
    assert 'thermal' not in report['summary']['depth_range']  # no metres for a non-length unit
    line = [ln for ln in format_report(report).splitlines() if 'thermal range' in ln][0]
    assert f"{vr['min']:g} .. {vr['max']:g} raw" in line and ' m ' not in line


# ------------------------------------------------------------ 2. checker and loader agree


def test_truncated_jpeg_is_refused_by_checker_and_loader(rgbt_root):
    meta = json.loads((rgbt_root / 'meta.json').read_text())
    meta['modalities']['rgb']['ext'] = '.jpg'
    (rgbt_root / 'meta.json').write_text(json.dumps(meta))
    for i in range(5):
        png = rgbt_root / 'RGB' / f'{i:05d}.png'
        cv2.imwrite(str(png.with_suffix('.jpg')), cv2.imread(str(png)))
    jpg = rgbt_root / 'RGB' / '00003.jpg'
    data = jpg.read_bytes()
    jpg.write_bytes(data[: len(data) * 2 // 3])
    assert cv2.imread(str(jpg)) is not None  # cv2.imread pads it silently
    report = check_dataset(str(rgbt_root))
    assert [(p['kind'], p['path']) for p in report['problems']] == [('unreadable', str(jpg))]
    with pytest.raises(SampleLoadError, match=r'00003\.jpg: unreadable or corrupt'):
        _sample(rgbt_root, 3)


def test_empty_split_file_is_a_problem_for_both(rgbt_root):
    (rgbt_root / 'test.txt').write_text('\n')
    report = check_dataset(str(rgbt_root))
    assert [p['kind'] for p in report['problems']] == ['empty_split']
    with pytest.raises(
        DatasetLayoutError, match=r'test\.txt: split file for split "test" is empty'
    ):
        RGBXSegDataset(str(rgbt_root), split='test')


def test_duplicate_stem_is_a_problem_for_both(rgbt_root):
    with open(rgbt_root / 'train.txt', 'a') as f:
        f.write('00000\n')
    assert [p['kind'] for p in check_dataset(str(rgbt_root))['problems']] == ['duplicate_stem']
    with pytest.raises(DatasetLayoutError, match="stem '00000' listed more than once"):
        RGBXSegDataset(str(rgbt_root), split='train')


def test_splits_field_is_optional_for_both(rgbt_root):
    meta = json.loads((rgbt_root / 'meta.json').read_text())
    del meta['splits']
    (rgbt_root / 'meta.json').write_text(json.dumps(meta))
    report = check_dataset(str(rgbt_root))
    assert report['ok'] and report['summary']['counts'] == {'train': 4, 'test': 1}
    assert len(RGBXSegDataset(str(rgbt_root), split='train')) == 4


def test_three_channel_label_is_refused_by_both(rgbt_root):
    p = rgbt_root / 'Label' / '00000.png'
    cv2.imwrite(str(p), np.dstack([cv2.imread(str(p), cv2.IMREAD_UNCHANGED)] * 3))
    assert [q['kind'] for q in check_dataset(str(rgbt_root))['problems']] == ['wrong_channels']
    with pytest.raises(DataFileError, match=r'00000\.png: label has 3 channels'):
        RGBXSegDataset(str(rgbt_root), split='train')


# ------------------------------------------------------------ 3. palette label PNGs


def test_palette_label_png_gives_indices(rgbt_root):
    from PIL import Image

    p = rgbt_root / 'Label' / '00000.png'
    ids = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    ids[0, :3] = [0, 3, 255]
    im = Image.fromarray(ids, mode='P')
    im.putpalette([c for k in range(256) for c in ((k * 37) % 256, (k * 91) % 256, (k * 53) % 256)])
    im.save(p)  # VOC-style: indices = class ids, colours in the palette
    assert Image.open(p).mode == 'P' and cv2.imread(str(p), cv2.IMREAD_UNCHANGED).ndim == 3
    r = _sample(rgbt_root, 0)
    assert np.array_equal(r['gt_seg_map'], ids)  # ids, not colours; 255 stays ignore
    report = check_dataset(str(rgbt_root))
    assert report['ok'] and report['summary']['class_histogram']['train']['<void>'] == 1


# ------------------------------------------------------------ 5. header checks at construction


def test_bad_files_are_found_at_construction_all_at_once(rgbt_root):
    (rgbt_root / 'RGB' / '00001.png').write_bytes(b'not a png at all')
    cv2.imwrite(
        str(rgbt_root / 'Thermal' / '00002.png'), np.zeros((H, W), np.uint16)
    )  # 16-bit, meta: uint8
    cv2.imwrite(str(rgbt_root / 'Thermal' / '00003.png'), np.zeros((H, W - 1), np.uint8))
    with pytest.raises(DataFileError) as e:
        RGBXSegDataset(str(rgbt_root), split='train', modalities=('rgb', 'thermal'))
    msg = str(e.value)
    assert '3 problem(s)' in msg
    assert 'RGB/00001.png: unreadable or corrupt' in msg
    assert 'Thermal/00002.png: thermal stored as uint16 but meta.json declares uint8' in msg
    assert 'Thermal/00003.png: thermal is 32x39 but label is 32x40' in msg
    # opting out defers the errors to loading time (each then raises when its sample is loaded)
    ds = RGBXSegDataset(
        str(rgbt_root), split='train', modalities=('rgb', 'thermal'), validate_files=False
    )
    with pytest.raises(SampleLoadError, match='00001.png: unreadable'):
        LoadMultiModalFromFile()(ds.get_data_info(1))


def test_construction_of_1000_stems_reads_headers_fast(tmp_path, capfd):
    root = tmp_path / 'big'
    generate(str(root), 'rgbt', num=2, height=H, width=W, progress=False)
    blobs = {d: (root / d / '00000.png').read_bytes() for d in ('RGB', 'Thermal', 'Label')}
    stems = [f'{i:05d}' for i in range(1000)]
    for d, b in blobs.items():
        for s in stems:
            (root / d / f'{s}.png').write_bytes(b)
    (root / 'train.txt').write_text('\n'.join(stems) + '\n')
    t0 = time.perf_counter()
    ds = RGBXSegDataset(str(root), split='train', modalities=('rgb', 'thermal'))
    dt = time.perf_counter() - t0
    print(f'\nconstruction with header checks, 1000 stems x 3 files: {dt:.3f} s')
    assert len(ds) == 1000 and dt < 2.5
    assert 'checking 3000 files' in capfd.readouterr().err  # progress bar above 200 files


# ------------------------------------------------------------ 4. unlabelled split (dataset side)


def _unlabelled_meta(root):
    meta = json.loads((root / 'meta.json').read_text())
    meta['splits']['unlabelled'] = 'unlabelled.txt'
    meta['unlabelled_splits'] = ['unlabelled']
    (root / 'meta.json').write_text(json.dumps(meta))
    for i in (90, 91):
        for d in ('RGB', 'Thermal'):
            shutil.copy(root / d / '00000.png', root / d / f'{i:05d}.png')
    (root / 'unlabelled.txt').write_text('00090\n00091\n')


def test_unlabelled_split_loads_without_labels(rgbt_root):
    from mmengine.registry import init_default_scope

    init_default_scope('mmseg')  # the pipeline's transforms live in mmseg's registry
    _unlabelled_meta(rgbt_root)
    assert not (rgbt_root / 'Label' / '00090.png').exists()
    ds = RGBXSegDataset(
        str(rgbt_root),
        split='unlabelled',
        modalities=('rgb', 'thermal'),
        pipeline=[dict(type='LoadMultiModalFromFile'), dict(type='PackMultiModalInputs')],
    )
    assert len(ds) == 2 and ds.with_label is False
    out = ds[0]
    assert not out['data_samples'].get('gt_sem_seg') and out['inputs']['rgb'].shape == (3, H, W)
    with pytest.raises(
        DatasetLayoutError, match=r'split "unlabelled" holds frames without labels.*with_label=True'
    ):
        RGBXSegDataset(str(rgbt_root), split='unlabelled', with_label=True)
    with pytest.raises(
        DatasetLayoutError, match=r'unlabelled.*LoadMultiModalFromFile has with_label=True'
    ):
        RGBXSegDataset(
            str(rgbt_root),
            split='unlabelled',
            pipeline=[dict(type='LoadMultiModalFromFile', with_label=True)],
        )
    with pytest.raises(SampleLoadError, match=r'sample "00090".*has no label'):
        LoadMultiModalFromFile(with_label=True)(ds.get_data_info(0))
    report = check_dataset(str(rgbt_root))  # no Label file needed for unlabelled stems
    assert report['ok'] and report['summary']['counts']['unlabelled'] == 2
