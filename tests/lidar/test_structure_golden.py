"""Golden tests of CHM / PAI / FHD on hand-built point sets (numbers worked by hand in comments)."""

import math

import numpy as np
import pytest

from crossmodal.datasets.lidar.crs import CRSInfo
from crossmodal.datasets.lidar.grid import Grid
from crossmodal.datasets.lidar.io import PointCloud
from crossmodal.datasets.lidar.rasterize import RasterParams, compute_rasters


def cloud(pts, z_to_m=1.0):
    """pts: rows (x, y, z, class, return_number, number_of_returns, intensity)."""
    a = np.asarray(pts, float)
    return PointCloud(
        a[:, 0],
        a[:, 1],
        a[:, 2],
        a[:, 3].astype(np.uint8),
        a[:, 4].astype(np.uint8),
        a[:, 5].astype(np.uint8),
        intensity=a[:, 6].astype(np.float32),
        crs=CRSInfo('hand', unit_name='metre', unit_m=1.0),
        z_to_m=z_to_m,
        xy_to_m=z_to_m,
    )


# One row of three 1 m cells (x 0..3, y 0..1), flat ground at z = 10.
# Cell A (x 0..1): pulse 1 = vegetation at z 20 (1st of 2) + ground at z 10 (2nd of 2);
#                  pulse 2 = vegetation at z 15 (single); pulses 3, 4 = ground singles.
# Cell B (x 1..2): two ground singles.  Cell C (x 2..3): no point.
A = [
    (0.5, 0.5, 20, 1, 1, 2, 10),
    (0.5, 0.5, 10, 2, 2, 2, 20),
    (0.4, 0.4, 15, 1, 1, 1, 10),
    (0.6, 0.6, 10, 2, 1, 1, 30),
    (0.3, 0.7, 10, 2, 1, 1, 30),
]
B = [(1.5, 0.5, 10, 2, 1, 1, 30), (1.2, 0.2, 10, 2, 1, 1, 30)]
GRID = Grid(0.0, 1.0, 1.0, 1.0, 3, 1)


def run(pts, **kw):
    return compute_rasters(cloud(pts), GRID, RasterParams(**kw))


def test_chm_dsm_dtm_golden():
    r = run(A + B)
    # cell A: HAGs 10, 0, 5, 0, 0 -> CHM = 10; DSM = max z = 20; DTM = min ground z = 10
    assert r['chm'][0, 0] == pytest.approx(10.0)
    assert r['dsm'][0, 0] == pytest.approx(20.0)
    assert r['dtm'][0, 0] == pytest.approx(10.0)
    # cell B: ground only -> CHM 0; cell C: no return -> NaN (its DTM is filled from the neighbours)
    assert r['chm'][0, 1] == 0.0
    assert np.isnan(r['chm'][0, 2]) and np.isnan(r['pai'][0, 2]) and np.isnan(r['fhd'][0, 2])
    assert r['dtm'][0, 2] == pytest.approx(10.0)
    # cover: 4 first returns in A, 2 of them >= 2 m -> 0.5
    assert r['cover'][0, 0] == pytest.approx(0.5)


@pytest.mark.parametrize(
    'estimator,expected',
    [
        # first returns in A: HAG 10, 5, 0, 0 -> P = 2/4 -> PAI = -ln(0.5)/0.5 = 1.3862944
        ('first_return', -math.log(0.5) / 0.5),
        # all returns in A: 3 of 5 below 2 m -> P = 0.6 -> PAI = -ln(0.6)/0.5 = 1.0216512
        ('all_return', -math.log(0.6) / 0.5),
        # weights 1/n_returns: 1/2, 1/2, 1, 1, 1 (sum 4); below 2 m: 1/2 + 1 + 1 = 2.5 -> P = 0.625
        # -> PAI = -ln(0.625)/0.5 = 0.9400073
        ('return_weighted', -math.log(0.625) / 0.5),
        # intensities 10, 20, 10, 30, 30 (sum 100); below 2 m: 20 + 30 + 30 = 80
        # -> P = 0.8 -> 0.4462871
        ('intensity', -math.log(0.8) / 0.5),
    ],
)
def test_pai_estimators_golden(estimator, expected):
    r = run(A + B, pai_estimator=estimator)
    assert r['pai'][0, 0] == pytest.approx(expected, rel=1e-6)
    assert r['pai'][0, 1] == 0.0  # ground only: P = 1


def test_pai_k_and_saturation():
    # k = 1 halves nothing else: PAI = -ln(0.5)/1 = 0.6931472
    assert run(A, pai_k=1.0)['pai'][0, 0] == pytest.approx(math.log(2), rel=1e-6)
    # two vegetation-only first returns: P = 0 is clipped to 1/(N+1) = 1/3
    # -> PAI = ln(3)/0.5 = 2.1972246
    veg = [(0.5, 0.5, 20, 1, 1, 1, 1), (0.5, 0.6, 18, 1, 1, 1, 1), (1.5, 0.5, 10, 2, 1, 1, 1)]
    assert run(veg)['pai'][0, 0] == pytest.approx(math.log(3) / 0.5, rel=1e-6)


def test_fhd_golden():
    # returns >= 2 m in A: HAG 10 (bin [10,11) from 2 m = index 8) and 5 (index 3): p = (0.5, 0.5)
    # -> FHD = -2 * 0.5 ln 0.5 = ln 2 = 0.6931472 nats; base 2 -> exactly 1 bit
    r = run(A + B)
    assert r['fhd'][0, 0] == pytest.approx(math.log(2), rel=1e-6)
    assert r['fhd'][0, 1] == 0.0  # returns but none above 2 m -> 0
    assert run(A + B, fhd_log_base=2.0)['fhd'][0, 0] == pytest.approx(1.0, rel=1e-6)
    # lidR-style normalisation: bins from 2 m up to the highest (index 8) = 9 bins
    # -> ln2 / ln9 = 0.3154649
    assert run(A + B, fhd_normalise=True)['fhd'][0, 0] == pytest.approx(
        math.log(2) / math.log(9), rel=1e-6
    )
    # 3 returns in 3 distinct bins with 2 m bins: HAG 10 -> idx 4, 5 -> idx 1, 6 -> idx 2: ln 3 =
    # 1.0986123
    pts = A + [(0.5, 0.5, 16, 1, 1, 1, 1)]
    assert run(pts, fhd_bin_width=2.0)['fhd'][0, 0] == pytest.approx(math.log(3), rel=1e-6)
    # min height 5.5 m: only HAG 6 and 10 count, in two 1 m bins -> ln 2
    assert run(pts, min_height=5.5)['fhd'][0, 0] == pytest.approx(math.log(2), rel=1e-6)


def test_chm_uses_point_normalised_heights_on_slope():
    # ground plane z = x: ground points at cell centres x = 0.5, 1.5, 2.5 -> DTM 0.5, 1.5, 2.5.
    # vegetation at x = 1.25, z = 8.25: DTM bilinear at 1.25 = 1.25 -> HAG = 7.0
    # (DSM - DTM would give 6.75)
    pts = [
        (0.5, 0.5, 0.5, 2, 1, 1, 1),
        (1.5, 0.5, 1.5, 2, 1, 1, 1),
        (2.5, 0.5, 2.5, 2, 1, 1, 1),
        (1.25, 0.5, 8.25, 1, 1, 1, 1),
    ]
    r = run(pts)
    assert r['chm'][0, 1] == pytest.approx(7.0, abs=1e-9)
    assert r['dsm'][0, 1] - r['dtm'][0, 1] == pytest.approx(6.75, abs=1e-6)


def test_feet_are_converted_to_metres():
    # z in feet: vegetation 10 ft above ground -> CHM 3.048 m; a return 5 ft (1.524 m) above ground
    # is below the 2 m threshold, so first-return P = 2/3 (ground + 5 ft return)
    # -> PAI = -ln(2/3)/0.5 = 0.8109302
    pts = [(0.5, 0.5, 110, 1, 1, 1, 1), (0.5, 0.5, 105, 1, 1, 1, 1), (0.5, 0.5, 100, 2, 1, 1, 1)]
    r = compute_rasters(cloud(pts, z_to_m=0.3048), Grid(0.0, 1.0, 1.0, 1.0, 1, 1), RasterParams())
    assert r['chm'][0, 0] == pytest.approx(3.048, rel=1e-6)
    assert r['pai'][0, 0] == pytest.approx(-math.log(2 / 3) / 0.5, rel=1e-6)
    # density: 3 returns per 1 ft^2 = 0.09290304 m^2 -> 32.29 returns/m^2
    assert r['density'][0, 0] == pytest.approx(3 / 0.3048**2, rel=1e-6)


def test_profile_shares():
    # 2 m bins, HAGs of A: 10 -> bin 5, 0, 0, 0 -> bin 0, 5 -> bin 2 => shares 3/5, 1/5, 1/5
    r = run(A + B, profile_bin_width=2.0, profile_max_height=12.0)
    assert r['profile'].shape == (1, 3, 6)
    np.testing.assert_allclose(r['profile'][0, 0], [0.6, 0, 0.2, 0, 0, 0.2], atol=1e-6)
    np.testing.assert_allclose(r['profile'][0, 2], 0.0)
    assert r['profile_names'][-1] == 'profile_10m_up'
