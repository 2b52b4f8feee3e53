"""Helpers for the LiDAR tests: tiny LAS files and georeferenced images written on the fly."""

import os

import numpy as np
import pytest


def write_las(
    path,
    x,
    y,
    z,
    classification=None,
    return_number=None,
    number_of_returns=None,
    rgb=None,
    epsg=None,
    wkt=None,
    intensity=None,
):
    """Write a LAS 1.2 / PDRF 3 file; ``epsg`` adds GeoKeys, ``wkt`` a WKT VLR (record 2112)."""
    import laspy

    n = len(x)
    h = laspy.LasHeader(point_format=3, version='1.2')
    h.scales = np.array([0.001, 0.001, 0.001])
    h.offsets = np.array([float(np.min(x)) if n else 0.0, float(np.min(y)) if n else 0.0, 0.0])
    if epsg is not None:
        import pyproj

        h.add_crs(pyproj.CRS.from_epsg(epsg))
    if wkt is not None:
        from laspy.vlrs.known import WktCoordinateSystemVlr

        h.vlrs.append(WktCoordinateSystemVlr(wkt))
    las = laspy.LasData(h)
    if n:
        las.x, las.y, las.z = np.asarray(x, float), np.asarray(y, float), np.asarray(z, float)
        las.classification = np.asarray(
            classification if classification is not None else np.ones(n), np.uint8
        )
        las.return_number = np.asarray(
            return_number if return_number is not None else np.ones(n), np.uint8
        )
        las.number_of_returns = np.asarray(
            number_of_returns if number_of_returns is not None else np.ones(n), np.uint8
        )
        if rgb is not None:
            rgb = np.asarray(rgb)
            las.red, las.green, las.blue = rgb[:, 0], rgb[:, 1], rgb[:, 2]
        if intensity is not None:
            las.intensity = np.asarray(intensity, np.uint16)
    las.write(path)
    return path


def write_png_with_world(path, image, x_ul_centre, y_ul_centre, pixel, world=True, prj=None):
    import cv2

    cv2.imwrite(path, np.ascontiguousarray(image[:, :, ::-1]) if image.ndim == 3 else image)
    if world:
        with open(os.path.splitext(path)[0] + '.pgw', 'w') as fh:
            fh.write(f'{pixel}\n0\n0\n{-pixel}\n{x_ul_centre}\n{y_ul_centre}\n')
    if prj is not None:
        with open(os.path.splitext(path)[0] + '.prj', 'w') as fh:
            fh.write(prj)
    return path


@pytest.fixture
def las_writer():
    return write_las


@pytest.fixture
def png_writer():
    return write_png_with_world
