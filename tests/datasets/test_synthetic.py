"""The embedded dataset generator: layout, determinism, and that the extra modality matters."""

import json
import os

import cv2
import numpy as np
import pytest

from data_prep.synthetic import generate, render_frame


def test_layout_and_meta(tmp_path):
    meta = generate(str(tmp_path / 'd'), 'rgbt', num=10, height=48, width=64, progress=False)
    root = tmp_path / 'd'
    for sub in ('RGB', 'Thermal', 'Label'):
        assert len(os.listdir(root / sub)) == 10
    stems = (root / 'train.txt').read_text().split() + (root / 'test.txt').read_text().split()
    assert sorted(stems) == [f'{i:05d}' for i in range(10)]
    on_disk = json.loads((root / 'meta.json').read_text())
    assert on_disk['classes'] == ['background', 'person', 'vehicle', 'obstacle']
    assert on_disk['modalities']['thermal']['folder'] == 'Thermal'
    assert meta['name'] == 'synthetic_rgbt'
    lab = cv2.imread(str(root / 'Label' / '00000.png'), cv2.IMREAD_UNCHANGED)
    assert lab.dtype == np.uint8 and lab.shape == (48, 64) and lab.max() <= 3


def test_depth_is_uint16_millimetres(tmp_path):
    generate(str(tmp_path / 'd'), 'rgbd', num=3, height=48, width=64, progress=False)
    d = cv2.imread(str(tmp_path / 'd' / 'Depth' / '00000.png'), cv2.IMREAD_UNCHANGED)
    assert d.dtype == np.uint16
    assert 500 < d.min() and d.max() <= 13000  # 0.5 m .. the 12 m wall (+noise), in mm


def test_deterministic_by_seed(tmp_path):
    generate(str(tmp_path / 'a'), 'rgbt', num=4, seed=3, height=32, width=40, progress=False)
    generate(str(tmp_path / 'b'), 'rgbt', num=4, seed=3, height=32, width=40, progress=False)
    generate(str(tmp_path / 'c'), 'rgbt', num=4, seed=4, height=32, width=40, progress=False)
    a = (tmp_path / 'a' / 'RGB' / '00002.png').read_bytes()
    assert a == (tmp_path / 'b' / 'RGB' / '00002.png').read_bytes()
    assert a != (tmp_path / 'c' / 'RGB' / '00002.png').read_bytes()


def test_existing_output_needs_force(tmp_path):
    out = str(tmp_path / 'd')
    generate(out, 'rgbt', num=3, height=32, width=40, progress=False)
    generate(out, 'rgbt', num=3, height=32, width=40, progress=False)  # same request: no-op
    with pytest.raises(FileExistsError, match='--force'):
        generate(out, 'rgbt', num=5, height=32, width=40, progress=False)
    generate(out, 'rgbt', num=5, height=32, width=40, progress=False, force=True)
    assert len(os.listdir(os.path.join(out, 'RGB'))) == 5


def _contrast(img, label, cls):
    m = label == cls
    if m.sum() < 10 or (~m).sum() < 10:
        return None
    return abs(float(img[m].mean()) - float(img[~m].mean()))


def test_night_hides_people_in_rgb_but_not_in_thermal():
    rng = np.random.default_rng(0)
    rgb_c, th_c = [], []
    for _ in range(40):
        f = render_frame(rng, 64, 80, p_night=1.0)
        grey = f.rgb.astype(np.float32).mean(-1)
        c1, c2 = _contrast(grey, f.label, 1), _contrast(f.thermal.astype(np.float32), f.label, 1)
        if c1 is not None:
            rgb_c.append(c1)
            th_c.append(c2)
    assert len(rgb_c) > 5
    assert np.median(th_c) > 10 * np.median(rgb_c)


def test_camouflage_hides_objects_in_rgb_but_not_in_depth():
    rng = np.random.default_rng(1)
    ratios = []
    for _ in range(30):
        f = render_frame(rng, 64, 80, p_night=0.0, p_camouflage=1.0)
        obj = f.label > 0
        if obj.sum() < 20:
            continue
        # local colour edge at object boundaries vs depth edge there
        edges = (
            cv2.morphologyEx(obj.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
            > 0
        )
        grey = f.rgb.astype(np.float32).mean(-1)
        gy, gx = np.gradient(grey)
        dy, dx = np.gradient(f.depth)
        colour_edge = np.hypot(gx, gy)[edges].mean() / (np.hypot(gx, gy).mean() + 1e-6)
        depth_edge = np.hypot(dx, dy)[edges].mean() / (np.hypot(dx, dy).mean() + 1e-6)
        ratios.append(depth_edge / max(colour_edge, 1e-6))
    assert len(ratios) > 5
    assert np.median(ratios) > 2.0
