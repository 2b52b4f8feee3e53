"""Readers for airborne point clouds (LAS/LAZ/COPC, PLY/PCD) and georeferenced orthophotos.

* LAS/LAZ/COPC via ``laspy`` (``pip install 'laspy[lazrs]'`` for LAZ/COPC).
* PLY/PCD via ``open3d`` (optional; imported only for those files, with a clear error when it is not
  installed). PLY/PCD carry no classification/returns/CRS, so every point counts as a single first
  return, no point is ground-classified (the DTM fallback applies) and units must be given.
* Orthophoto: GeoTIFF read with ``tifffile`` (ModelPixelScale + ModelTiepoint or ModelTransformation
  tags, GeoKeys for the CRS; a world file is used if the tags are absent) or JPEG/PNG (OpenCV) plus
  a world file (.wld/.jgw/.pgw) and an optional .wkt/.prj CRS sidecar.

Coordinates stay in the CRS units; ``PointCloud.z_m`` is z converted to metres. LAS RGB is nominally
16-bit, but many files (Autzen) store 8-bit values; ``rgb_bits`` records which was detected and
``rgb8`` is the colour normalised to 0..255.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .crs import CRSError, CRSInfo, crs_from_geokeys, unit_from_name
from .grid import Grid, find_world_file, read_world_file

LAS_EXTS = ('.las', '.laz')
O3D_EXTS = ('.ply', '.pcd')


class PointCloudError(ValueError):
    """Raised for unreadable or unusable point clouds (message names the file)."""


class OrthoError(ValueError):
    """Raised for unreadable or non-georeferenced orthophotos (message names the file)."""


@dataclass
class PointCloud:
    """Airborne point cloud, one entry per return.

    Attributes (N points):
        x, y, z: float64 (N,) in CRS units (``z`` in the vertical unit).
        classification: uint8 (N,) ASPRS classes (2 = ground, 7/18 = noise, 9 = water).
        return_number, number_of_returns: uint8 (N,), 1-based.
        intensity: float32 (N,) or None.
        rgb8: uint8 (N, 3) colour normalised to 8 bit, or None.
        rgb_bits: 8 or 16 (bits of the stored LAS colour) or None.
        crs: CRSInfo.
        z_to_m: metres per vertical unit.
        xy_to_m: metres per horizontal unit.
        path: source file.
    """

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    classification: np.ndarray
    return_number: np.ndarray
    number_of_returns: np.ndarray
    intensity: Optional[np.ndarray] = None
    rgb8: Optional[np.ndarray] = None
    rgb_bits: Optional[int] = None
    crs: CRSInfo = None
    z_to_m: float = 1.0
    xy_to_m: float = 1.0
    path: str = '<memory>'
    notes: list = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def z_m(self) -> np.ndarray:
        return self.z * self.z_to_m

    def subset(self, mask: np.ndarray) -> 'PointCloud':
        def take(a):
            return None if a is None else a[mask]

        return PointCloud(
            self.x[mask],
            self.y[mask],
            self.z[mask],
            self.classification[mask],
            self.return_number[mask],
            self.number_of_returns[mask],
            take(self.intensity),
            take(self.rgb8),
            self.rgb_bits,
            self.crs,
            self.z_to_m,
            self.xy_to_m,
            self.path,
            list(self.notes),
        )


def normalise_las_rgb(red, green, blue, path: str = '<memory>'):
    """Return (rgb8 uint8 (N,3), bits) for LAS colour channels.

    LAS stores 16-bit colour, but many writers store 8-bit values unscaled. If every channel value
    is <= 255 the colour is taken as 8-bit (kept as is), else 16-bit (divided by 257, so 65535 ->
    255).
    """
    rgb = np.stack([np.asarray(red), np.asarray(green), np.asarray(blue)], axis=1).astype(np.uint32)
    if rgb.size == 0:
        return rgb.astype(np.uint8), None
    if rgb.max() <= 255:
        return rgb.astype(np.uint8), 8
    return np.round(rgb / 257.0).clip(0, 255).astype(np.uint8), 16


def _las_crs(path: str, header) -> CRSInfo:
    from laspy.vlrs.known import GeoKeyDirectoryVlr, WktCoordinateSystemVlr

    vlrs = list(header.vlrs) + list(getattr(header, 'evlrs', None) or [])
    info = CRSInfo(source=path)
    for vlr in vlrs:
        if isinstance(vlr, GeoKeyDirectoryVlr):
            keys = {k.id: k.value_offset for k in vlr.geo_keys if k.tiff_tag_location == 0}
            info = crs_from_geokeys(path, keys)
    for vlr in vlrs:
        if isinstance(vlr, WktCoordinateSystemVlr) and vlr.string.strip():
            info.wkt = vlr.string.strip().rstrip('\x00')
            info.how.append('CRS from WKT VLR 2112')
            break
    if info.wkt is None and info.epsg is None:
        # user-defined GeoKeys (e.g. 32767): let laspy/pyproj assemble the CRS
        try:
            crs = header.parse_crs()
        except Exception:  # noqa: BLE001 - any parse failure means "no usable CRS"
            crs = None
        if crs is not None:
            info.wkt = crs.to_wkt()
            info.how.append('CRS from GeoKeys via laspy parse_crs')
    info.fill_units_from_crs()
    return info


def read_points(
    path: str,
    units: Optional[str] = None,
    z_units: Optional[str] = None,
    fallback_crs: Optional[CRSInfo] = None,
) -> PointCloud:
    """Read a point cloud file.

    Args:
        path: .las/.laz (incl. COPC .copc.laz) or .ply/.pcd.
        units: override of the horizontal unit ('m', 'ft', 'us-ft'); required when the file states
            none (PLY/PCD, LAS without CRS). An override that contradicts the file's stated unit is
            an error.
        z_units: override of the vertical unit (default: LAS VerticalUnits GeoKey, else horizontal).
        fallback_crs: CRS (e.g. the orthophoto's) used when the file states no unit and ``units`` is
            None; the adoption is noted in ``pc.crs.how``.
    """
    if not os.path.isfile(path):
        raise PointCloudError(f'{path}: point cloud file not found')
    ext = os.path.splitext(path)[1].lower()
    if ext in LAS_EXTS:
        pc = _read_las(path)
    elif ext in O3D_EXTS:
        pc = _read_open3d(path)
    else:
        raise PointCloudError(
            f'{path}: unsupported point cloud extension {ext!r} (supported: {LAS_EXTS + O3D_EXTS})'
        )
    if len(pc) == 0:
        raise PointCloudError(f'{path}: the point cloud is empty (0 points)')
    if (
        units is None
        and pc.crs.unit_m is None
        and fallback_crs is not None
        and fallback_crs.unit_m is not None
    ):
        pc.crs.unit_name, pc.crs.unit_m = fallback_crs.unit_name, fallback_crs.unit_m
        pc.crs.how.append(
            f'file states no unit: adopted {fallback_crs.unit_name} from {fallback_crs.source}'
        )
    _resolve_units(pc, units, z_units)
    return pc


def _resolve_units(pc: PointCloud, units, z_units) -> None:
    info = pc.crs
    if units is not None:
        name, factor = unit_from_name(units)
        if info.unit_m is not None and abs(info.unit_m - factor) > 1e-9:
            raise CRSError(
                f'{pc.path}: --units {units} ({factor} m) contradicts the file\'s unit '
                f'{info.unit_name} ({info.unit_m} m)'
            )
        if info.unit_m is None:
            info.unit_name, info.unit_m = name, factor
            info.how.append(f'horizontal unit given by the user ({units})')
    if info.unit_m is None:
        raise CRSError(
            f'{pc.path}: the file states no CRS/linear unit; pass units (m, ft or us-ft)'
        )
    if z_units is not None:
        name, factor = unit_from_name(z_units)
        if info.vertical_unit_m is not None and abs(info.vertical_unit_m - factor) > 1e-9:
            raise CRSError(
                f'{pc.path}: z unit {z_units} contradicts the file\'s vertical unit '
                f'{info.vertical_unit_name}'
            )
        info.vertical_unit_name, info.vertical_unit_m = name, factor
        info.how.append(f'vertical unit given by the user ({z_units})')
    if info.vertical_unit_m is None:
        info.how.append('vertical unit assumed equal to the horizontal unit (none stated)')
        pc.z_to_m = info.unit_m
    else:
        pc.z_to_m = info.vertical_unit_m
    pc.xy_to_m = info.unit_m


def _read_las(path: str) -> PointCloud:
    try:
        import laspy
    except ImportError as exc:
        raise PointCloudError(
            f"{path}: reading LAS/LAZ needs laspy: pip install 'laspy[lazrs]'"
        ) from exc
    try:
        las = laspy.read(path)
    except Exception as exc:  # laspy raises LaspyException / lazrs errors
        raise PointCloudError(f'{path}: cannot read as LAS/LAZ ({exc})') from exc
    dims = set(las.point_format.dimension_names)
    n = len(las.points)
    rgb8 = bits = None
    if {'red', 'green', 'blue'} <= dims and n:
        rgb8, bits = normalise_las_rgb(las.red, las.green, las.blue, path)
    crs = _las_crs(path, las.header)
    pc = PointCloud(
        x=np.asarray(las.x, np.float64),
        y=np.asarray(las.y, np.float64),
        z=np.asarray(las.z, np.float64),
        classification=np.asarray(las.classification, np.uint8),
        return_number=np.asarray(las.return_number, np.uint8),
        number_of_returns=np.asarray(las.number_of_returns, np.uint8),
        intensity=np.asarray(las.intensity, np.float32) if 'intensity' in dims else None,
        rgb8=rgb8,
        rgb_bits=bits,
        crs=crs,
        path=path,
    )
    if bits is not None:
        pc.notes.append(
            f'LAS RGB detected as {bits}-bit' + (' (divided by 257 to 8 bit)' if bits == 16 else '')
        )
    # LAS 1.2 writers sometimes leave return numbers 0; treat as single returns (recorded)
    bad = (pc.return_number == 0) | (pc.number_of_returns == 0)
    if bad.any():
        pc.return_number[bad] = 1
        pc.number_of_returns[bad] = np.maximum(pc.number_of_returns[bad], 1)
        pc.notes.append(f'{int(bad.sum())} points had return number/number of returns 0; set to 1')
    return pc


def _read_open3d(path: str) -> PointCloud:
    try:
        import open3d as o3d
    except Exception as exc:  # ImportError, or OSError for a missing libusb-1.0
        raise PointCloudError(
            f'{path}: reading PLY/PCD needs open3d (pip install open3d; on Debian it also needs '
            f'the libusb-1.0-0 system package): {exc}'
        ) from exc
    cloud = o3d.io.read_point_cloud(path)
    xyz = np.asarray(cloud.points, np.float64)
    n = xyz.shape[0]
    rgb8 = None
    if cloud.has_colors():
        rgb8 = np.round(np.asarray(cloud.colors) * 255).clip(0, 255).astype(np.uint8)
    pc = PointCloud(
        x=xyz[:, 0].copy() if n else np.zeros(0),
        y=xyz[:, 1].copy() if n else np.zeros(0),
        z=xyz[:, 2].copy() if n else np.zeros(0),
        classification=np.ones(n, np.uint8),
        return_number=np.ones(n, np.uint8),
        number_of_returns=np.ones(n, np.uint8),
        rgb8=rgb8,
        rgb_bits=8 if rgb8 is not None else None,
        crs=CRSInfo(source=path),
        path=path,
    )
    pc.notes.append(
        'PLY/PCD: no classification or return information; all points are single returns '
        'of class 1 (unclassified)'
    )
    return pc


@dataclass
class Ortho:
    """Georeferenced orthophoto.

    Attributes:
        image: (H, W, C) uint8 or uint16, RGB order (C = 3) or R,G,B,NIR (C = 4) or gray (C = 1).
        grid: pixel grid.
        crs: CRSInfo (may be unknown when no .wkt/.prj/GeoKeys exist).
        path: source file.
    """

    image: np.ndarray
    grid: Grid
    crs: CRSInfo
    path: str
    notes: list = field(default_factory=list)


def _sidecar_crs(path: str) -> CRSInfo:
    stem = os.path.splitext(path)[0]
    cands = [stem + '.prj', stem + '.wkt', path + '.prj', path + '.aux.wkt']
    directory = os.path.dirname(path) or '.'
    # PDAL-style "<name>-srs.wkt" beside the image
    cands.append(os.path.join(directory, os.path.basename(stem) + '-srs.wkt'))
    for cand in cands:
        if os.path.isfile(cand):
            with open(cand) as fh:
                wkt = fh.read().strip()
            info = CRSInfo(source=path, wkt=wkt)
            info.how.append(f'CRS from sidecar {os.path.basename(cand)}')
            info.fill_units_from_crs()
            return info
    return CRSInfo(source=path)


def read_ortho(path: str) -> Ortho:
    """Read an orthophoto and its georeference (GeoTIFF tags or world file; CRS from
    GeoKeys/sidecar)."""
    if not os.path.isfile(path):
        raise OrthoError(f'{path}: orthophoto file not found')
    ext = os.path.splitext(path)[1].lower()
    notes = []
    grid = None
    crs = CRSInfo(source=path)
    if ext in ('.tif', '.tiff'):
        image, grid, crs = _read_geotiff(path)
    elif ext in ('.jpg', '.jpeg', '.png'):
        import cv2

        image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if image is None:
            raise OrthoError(f'{path}: cannot decode image')
        if image.ndim == 2:
            image = image[:, :, None]
        elif image.shape[2] == 3:
            image = image[:, :, ::-1]  # BGR -> RGB
        elif image.shape[2] == 4:
            # cv2 gives B,G,R,A; a 4-band ortho PNG is read as R,G,B,NIR (NIR in the 4th channel)
            image = image[:, :, [2, 1, 0, 3]]
            notes.append('4-channel PNG read as R,G,B,NIR')
        image = np.ascontiguousarray(image)
    else:
        raise OrthoError(f'{path}: unsupported orthophoto extension {ext!r} (use .tif/.jpg/.png)')
    h, w = image.shape[:2]
    if grid is None:
        wld = find_world_file(path)
        if wld is None:
            raise OrthoError(
                f'{path}: orthophoto has no georeference (no GeoTIFF tags and no world file '
                '.wld/.jgw/.pgw/.tfw beside it)'
            )
        try:
            grid = read_world_file(wld, w, h)
        except ValueError as exc:
            raise OrthoError(str(exc)) from exc
        notes.append(
            f'georeference from world file {os.path.basename(wld)} (C,F = centre of UL pixel)'
        )
    if not crs.known:
        side = _sidecar_crs(path)
        if side.known:
            crs = side
    return Ortho(image=image, grid=grid, crs=crs, path=path, notes=notes)


def _read_geotiff(path: str):
    try:
        import tifffile
    except ImportError as exc:
        raise OrthoError(f'{path}: reading GeoTIFF needs tifffile: pip install tifffile') from exc
    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages[0]
            tags = {t.code: t.value for t in page.tags.values()}
            image = page.asarray()
    except Exception as exc:  # tifffile raises various errors on bad files
        raise OrthoError(f'{path}: cannot read TIFF ({exc})') from exc
    if image.ndim == 3 and image.shape[0] in (3, 4) and image.shape[2] not in (3, 4):
        image = np.moveaxis(image, 0, -1)  # planar configuration -> HWC
    if image.ndim == 2:
        image = image[:, :, None]
    h, w = image.shape[:2]
    keys = {}
    gkd = tags.get(34735)
    if gkd is not None:
        gkd = list(gkd)
        for i in range(int(gkd[3])):
            kid, loc, _count, val = gkd[4 + 4 * i : 8 + 4 * i]
            if loc == 0:
                keys[int(kid)] = int(val)
    crs = crs_from_geokeys(path, keys)
    crs.fill_units_from_crs()
    pixel_is_point = keys.get(1025) == 2
    grid = None
    if 33922 in tags and 33550 in tags:
        tie = tags[33922]
        sx, sy = tags[33550][:2]
        i, j, x, y = tie[0], tie[1], tie[3], tie[4]
        x0, y0 = x - i * sx, y + j * sy
        if pixel_is_point:  # tie point refers to the pixel centre
            x0, y0 = x0 - sx / 2.0, y0 + sy / 2.0
        grid = Grid(float(x0), float(y0), float(sx), float(sy), w, h)
    elif 34264 in tags:
        m = tags[34264]
        if m[1] != 0 or m[4] != 0:
            raise OrthoError(
                f'{path}: rotated GeoTIFF (ModelTransformation with shear) is not supported'
            )
        x0, y0 = m[3], m[7]
        if pixel_is_point:
            x0, y0 = x0 - m[0] / 2.0, y0 - m[5] / 2.0
        grid = Grid(float(x0), float(y0), float(m[0]), float(-m[5]), w, h)
    return image, grid, crs
