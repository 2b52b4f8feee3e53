"""Readers and grids: world files, GeoTIFF tags, 4-band orthophotos, PLY/PCD (open3d), DTM gap
filling."""

import numpy as np
import pytest

from crossmodal.datasets.lidar.grid import Grid, read_world_file
from crossmodal.datasets.lidar.io import PointCloudError, read_ortho, read_points
from crossmodal.datasets.lidar.rasterize import fill_gaps
from crossmodal.datasets.lidar.tiling import spatial_split, write_png


def test_world_file_half_pixel_and_cells(tmp_path):
    p = tmp_path / 'a.wld'
    p.write_text('0.5\n0\n0\n-0.5\n100.25\n200.75\n')
    g = read_world_file(str(p), 4, 3)
    # C, F = centre of the upper-left pixel -> corner (100, 201)
    assert (g.x0, g.y0, g.px, g.py) == (100.0, 201.0, 0.5, 0.5)
    row, col, inside = g.cell_of(
        np.array([100.0, 100.49, 101.99, 102.0]), np.array([201.0, 200.51, 199.51, 200.0])
    )
    assert row.tolist()[:3] == [0, 0, 2] and col.tolist()[:3] == [0, 0, 3]
    assert inside.tolist() == [True, True, True, False]
    c = g.coarsen(2)
    assert (c.px, c.width, c.height) == (1.0, 2, 1)
    p.write_text('1\n0.1\n0\n-1\n0\n0\n')
    with pytest.raises(ValueError, match='rotated'):
        read_world_file(str(p), 4, 3)


def test_geotiff_tags(tmp_path):
    import tifffile

    img = np.arange(4 * 5 * 4, dtype=np.uint16).reshape(4, 5, 4)
    path = str(tmp_path / 'o.tif')
    # tie point (0, 0) -> (500000, 4000004), 1 m pixels, EPSG 26917 (metres), PixelIsArea
    tifffile.imwrite(
        path,
        img,
        photometric='rgb',
        extrasamples=[0],
        extratags=[
            (33550, 'd', 3, (1.0, 1.0, 0.0), False),
            (33922, 'd', 6, (0, 0, 0, 500000.0, 4000004.0, 0), False),
            (34735, 'H', 16, (1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 26917), False),
        ],
    )
    o = read_ortho(path)
    assert o.image.shape == (4, 5, 4) and o.image.dtype == np.uint16
    np.testing.assert_array_equal(o.image, img)
    assert (o.grid.x0, o.grid.y0, o.grid.px, o.grid.width) == (500000.0, 4000004.0, 1.0, 5)
    assert o.crs.epsg == 26917 and o.crs.unit_m == 1.0


def test_four_band_png_round_trip(tmp_path):
    import cv2

    img = np.random.default_rng(0).integers(0, 255, (6, 7, 4), dtype=np.uint8)
    p = str(tmp_path / 'rgbi.png')
    write_png(p, img)
    back = cv2.imread(p, cv2.IMREAD_UNCHANGED)  # B, G, R, NIR
    np.testing.assert_array_equal(back[:, :, [2, 1, 0, 3]], img)
    with open(str(tmp_path / 'rgbi.pgw'), 'w') as fh:
        fh.write('1\n0\n0\n-1\n0.5\n6.5\n')
    o = read_ortho(p)  # read back as R, G, B, NIR
    np.testing.assert_array_equal(o.image, img)


def test_ply_pcd_via_open3d(tmp_path):
    try:
        import open3d as o3d
    except Exception as exc:  # not installed, or a missing system library (libusb-1.0)
        pytest.skip(f'open3d not usable: {exc}')
    pts = np.array([[0.5, 0.5, 10.0], [0.5, 0.5, 20.0], [1.5, 0.5, 10.0]])
    for ext in ('.ply', '.pcd'):
        cloud = o3d.geometry.PointCloud()
        cloud.points = o3d.utility.Vector3dVector(pts)
        path = str(tmp_path / ('c' + ext))
        o3d.io.write_point_cloud(path, cloud)
        with pytest.raises(Exception, match='states no CRS'):
            read_points(path)
        pc = read_points(path, units='m')
        np.testing.assert_allclose(np.c_[pc.x, pc.y, pc.z], pts)
        assert (pc.classification == 1).all() and (pc.return_number == 1).all()
        assert any('PLY/PCD' in n for n in pc.notes)


def test_unsupported_extension(tmp_path):
    p = tmp_path / 'x.xyz'
    p.write_text('1 2 3\n')
    with pytest.raises(PointCloudError, match=r'x\.xyz: unsupported point cloud extension'):
        read_points(str(p))


def test_fill_gaps_idw_golden():
    # centre gap: edge neighbours 1, 2, 3, 4 at distance 1 (w = 1), corners 10 at sqrt(2) (w = 1/2):
    # (1 + 2 + 3 + 4 + 0.5 * 40) / (4 + 4 * 0.5) = 30 / 6 = 5
    r = np.array([[10, 1, 10], [2, np.nan, 3], [10, 4, 10]], float)
    assert fill_gaps(r)[1, 1] == pytest.approx(5.0)
    np.testing.assert_array_equal(fill_gaps(r)[r == r], r[r == r])


def test_spatial_split():
    tiles = [(f't{i}{j}', i, j) for i in range(2) for j in range(5)]
    train, test = spatial_split(tiles, 0.2)
    assert sorted(test) == ['t04', 't14'] and len(train) == 8
    # one column -> split by rows
    train, test = spatial_split([('a', 0, 0), ('b', 1, 0), ('c', 2, 0)], 0.3)
    assert test == ['c'] and train == ['a', 'b']


def test_grid_from_extent_covers_points():
    g = Grid.from_extent(0.3, 0.2, 9.7, 10.0, 2.0)
    _r, _c, inside = g.cell_of(np.array([0.3, 9.7, 5.0]), np.array([0.2, 10.0, 5.0]))
    assert inside.all()
