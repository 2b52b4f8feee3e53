"""tools/check_dataset.py: passes clean output; each planted defect is reported (one test per
kind)."""

import json
import os
import subprocess
import sys

import cv2
import numpy as np

from data_prep.check import check_dataset, main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _kinds(root):
    report = check_dataset(root)
    return report, sorted({p['kind'] for p in report['problems']})


def test_clean_dataset_passes_with_summary(nyu_dataset):
    report, kinds = _kinds(nyu_dataset)
    assert report['ok'] and kinds == []
    s = report['summary']
    assert s['counts'] == {'train': 2, 'test': 3} and s['unique_stems'] == 5
    assert 1.0 <= s['depth_range']['depth']['min_m'] < s['depth_range']['depth']['max_m'] <= 4.5
    h = s['class_histogram']['train']
    assert h['wall'] > 0 and h['<void>'] > 0 and h['<out_of_range>'] == 0
    assert sum(h.values()) == 2 * 24 * 32


def test_missing_file_per_modality(nyu_dataset):
    os.remove(os.path.join(nyu_dataset, 'Depth', '1.png'))
    report, kinds = _kinds(nyu_dataset)
    assert kinds == ['missing_file']
    (p,) = report['problems']
    assert (
        p['modality'] == 'depth'
        and p['stem'] == '1'
        and p['path'].endswith(os.path.join('Depth', '1.png'))
    )


def test_stem_in_split_without_files(nyu_dataset):
    with open(os.path.join(nyu_dataset, 'train.txt'), 'a') as f:
        f.write('999\n')
    report, kinds = _kinds(nyu_dataset)
    assert kinds == ['missing_file', 'pair_split_mismatch']
    missing = [p for p in report['problems'] if p['kind'] == 'missing_file']
    assert sorted(p['modality'] for p in missing) == ['depth', 'label', 'rgb']
    assert all(p['stem'] == '999' for p in missing)


def test_size_mismatch(nyu_dataset):
    p = os.path.join(nyu_dataset, 'Depth', '2.png')
    cv2.imwrite(
        p,
        cv2.resize(cv2.imread(p, cv2.IMREAD_UNCHANGED), (30, 20), interpolation=cv2.INTER_NEAREST),
    )
    report, kinds = _kinds(nyu_dataset)
    assert kinds == ['size_mismatch']
    assert report['problems'][0]['found'] == [20, 30] and report['problems'][0]['expected'] == [
        24,
        32,
    ]


def test_label_out_of_range(nyu_dataset):
    p = os.path.join(nyu_dataset, 'Label', '0.png')
    lab = cv2.imread(p, cv2.IMREAD_UNCHANGED)
    lab[0, :3] = [41, 200, 255]  # 41 and 200 invalid for 40 classes with offset -1; 255 is void
    cv2.imwrite(p, lab)
    report, kinds = _kinds(nyu_dataset)
    assert kinds == ['label_out_of_range'] and report['problems'][0]['values'] == [41, 200]
    assert report['summary']['class_histogram']['test']['<out_of_range>'] == 2


def test_wrong_bit_depth(nyu_dataset):
    p = os.path.join(nyu_dataset, 'Depth', '3.png')
    d = cv2.imread(p, cv2.IMREAD_UNCHANGED)
    cv2.imwrite(p, (d // 256).astype(np.uint8))  # 8-bit depth where meta says uint16
    report, kinds = _kinds(nyu_dataset)
    assert kinds == ['wrong_dtype']
    assert (
        report['problems'][0]['found'] == 'uint8' and report['problems'][0]['expected'] == 'uint16'
    )


def test_wrong_channels(nyu_dataset):
    p = os.path.join(nyu_dataset, 'Label', '4.png')
    lab = cv2.imread(p, cv2.IMREAD_UNCHANGED)
    cv2.imwrite(p, np.dstack([lab] * 3))  # SA-Gate style 3-channel label
    _, kinds = _kinds(nyu_dataset)
    assert kinds == ['wrong_channels']


def test_empty_depth(nyu_dataset):
    cv2.imwrite(os.path.join(nyu_dataset, 'Depth', '0.png'), np.zeros((24, 32), np.uint16))
    report, kinds = _kinds(nyu_dataset)
    assert kinds == ['empty_depth'] and report['problems'][0]['stem'] == '0'


def test_unreadable_file(nyu_dataset):
    with open(os.path.join(nyu_dataset, 'RGB', '1.jpg'), 'wb') as f:
        f.write(b'not an image')
    _, kinds = _kinds(nyu_dataset)
    assert kinds == ['unreadable']


def test_missing_split_file_and_duplicate_stem(nyu_dataset):
    os.remove(os.path.join(nyu_dataset, 'test.txt'))
    with open(os.path.join(nyu_dataset, 'train.txt'), 'a') as f:
        f.write('1\n')
    _, kinds = _kinds(nyu_dataset)
    assert kinds == ['duplicate_stem', 'missing_split_file', 'pair_split_mismatch']


def test_invalid_meta(nyu_dataset):
    p = os.path.join(nyu_dataset, 'meta.json')
    meta = json.load(open(p))
    meta['palette'] = meta['palette'][:-1]
    json.dump(meta, open(p, 'w'))
    _, kinds = _kinds(nyu_dataset)
    assert kinds == ['meta_invalid']
    os.remove(p)
    report, kinds = _kinds(nyu_dataset)
    assert kinds == ['meta_invalid'] and not report['ok']


def test_every_problem_in_one_pass(nyu_dataset):
    os.remove(os.path.join(nyu_dataset, 'Depth', '1.png'))
    cv2.imwrite(os.path.join(nyu_dataset, 'Depth', '0.png'), np.zeros((24, 32), np.uint16))
    cv2.imwrite(os.path.join(nyu_dataset, 'Label', '2.png'), np.full((10, 10), 77, np.uint8))
    report, kinds = _kinds(nyu_dataset)
    assert kinds == ['empty_depth', 'label_out_of_range', 'missing_file', 'size_mismatch']
    assert (
        len([p for p in report['problems'] if p['kind'] == 'size_mismatch']) == 2
    )  # rgb and depth of stem 2


def test_cli_exit_codes_and_json(nyu_dataset, capsys):
    assert main([nyu_dataset]) == 0
    assert 'problems: 0 (OK)' in capsys.readouterr().out
    os.remove(os.path.join(nyu_dataset, 'RGB', '0.jpg'))
    assert main([nyu_dataset, '--json']) == 1
    report = json.loads(capsys.readouterr().out)
    assert report['ok'] is False and report['problems'][0]['kind'] == 'missing_file'
    r = subprocess.run(
        [sys.executable, os.path.join(ROOT, 'tools', 'check_dataset.py'), nyu_dataset],
        capture_output=True,
        text=True,
    )
    assert (
        r.returncode == 1 and '[missing_file]' in r.stdout and 'class histogram [train]' in r.stdout
    )


def test_regression_targets_are_checked(nyu_dataset):
    p = os.path.join(nyu_dataset, 'meta.json')
    meta = json.load(open(p))
    meta['targets'] = {'chm': {'folder': 'CHM', 'ext': '.npy', 'unit': 'm'}}
    json.dump(meta, open(p, 'w'))
    os.makedirs(os.path.join(nyu_dataset, 'CHM'))
    for s in ('0', '1', '2', '3'):
        np.save(os.path.join(nyu_dataset, 'CHM', f'{s}.npy'), np.full((24, 32), np.nan, np.float32))
    np.save(os.path.join(nyu_dataset, 'CHM', '3.npy'), np.zeros((24, 32), np.float64))
    report, kinds = _kinds(nyu_dataset)
    assert kinds == ['missing_file', 'wrong_dtype']
    assert {p['stem'] for p in report['problems']} == {'3', '4'}
