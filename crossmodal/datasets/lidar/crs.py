"""Coordinate reference systems and linear units for LiDAR / orthophoto pairs.

Units matter because heights are compared with metre thresholds (2 m canopy etc.): Autzen is in
international feet (WKT ``UNIT["foot",0.3048]``, GeoKey ProjLinearUnits 9002), other surveys use US
survey feet (0.3048006096 m, EPSG 9003). Every height is converted to metres with the factor read
here; nothing is guessed: when no unit can be read, the caller must pass one explicitly.

CRS parsing and comparison use ``pyproj`` (PyPI wheels bundle PROJ).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

# EPSG unit-of-measure codes used by GeoTIFF / LAS GeoKeys (ProjLinearUnitsGeoKey 3076,
# VerticalUnitsGeoKey 4099). Values: metres per unit.
EPSG_UNITS = {
    9001: ('metre', 1.0),
    9002: ('foot', 0.3048),
    9003: ('US survey foot', 1200.0 / 3937.0),
    9036: ('kilometre', 1000.0),
}

# names accepted by --units / units= overrides
UNIT_ALIASES = {
    'm': ('metre', 1.0),
    'metre': ('metre', 1.0),
    'meter': ('metre', 1.0),
    'ft': ('foot', 0.3048),
    'foot': ('foot', 0.3048),
    'us-ft': ('US survey foot', 1200.0 / 3937.0),
    'us_survey_foot': ('US survey foot', 1200.0 / 3937.0),
}


class CRSError(ValueError):
    """Raised for missing, unreadable or disagreeing coordinate systems / units."""


@dataclass
class CRSInfo:
    """What we know about the CRS of one file.

    Attributes:
        source: file the information came from (used in error messages).
        wkt: WKT string of the CRS, or None.
        epsg: EPSG code of the horizontal CRS, or None.
        unit_name / unit_m: horizontal linear unit and metres per unit, or None when unknown.
        vertical_unit_name / vertical_unit_m: vertical unit if stated separately (LAS VerticalUnits
            GeoKey), else None (the horizontal unit is then used for z, and ``vertical_unit_source``
            says so).
        how: short text of where the unit was read from.
    """

    source: str
    wkt: Optional[str] = None
    epsg: Optional[int] = None
    unit_name: Optional[str] = None
    unit_m: Optional[float] = None
    vertical_unit_name: Optional[str] = None
    vertical_unit_m: Optional[float] = None
    how: list = field(default_factory=list)

    @property
    def known(self) -> bool:
        return self.wkt is not None or self.epsg is not None

    def pyproj_crs(self):
        if not self.known:
            return None
        pyproj = _pyproj()
        try:
            if self.wkt is not None:
                return pyproj.CRS.from_wkt(self.wkt)
            return pyproj.CRS.from_epsg(self.epsg)
        except Exception as exc:  # pyproj raises CRSError subclasses
            raise CRSError(f'{self.source}: cannot parse its CRS ({exc})') from exc

    def fill_units_from_crs(self) -> None:
        """Read the linear unit from the parsed CRS when no GeoKey stated it."""
        if self.unit_m is not None or not self.known:
            return
        crs = self.pyproj_crs()
        axes = crs.axis_info
        if axes and axes[0].unit_conversion_factor:
            self.unit_name = axes[0].unit_name
            self.unit_m = float(axes[0].unit_conversion_factor)
            self.how.append('horizontal unit from CRS axis info')

    def to_meta(self) -> dict:
        return {
            'source': self.source,
            'epsg': self.epsg,
            'wkt': self.wkt,
            'unit': self.unit_name,
            'unit_m': self.unit_m,
            'vertical_unit': self.vertical_unit_name,
            'vertical_unit_m': self.vertical_unit_m,
            'how': list(self.how),
        }


def _pyproj():
    try:
        import pyproj
    except ImportError as exc:  # pragma: no cover - pyproj is in requirements.txt
        raise CRSError('pyproj is required to read coordinate systems: pip install pyproj') from exc
    return pyproj


def unit_from_name(name: str) -> tuple:
    """Return (unit name, metres per unit) for a --units override ('m', 'ft', 'us-ft')."""
    key = name.strip().lower()
    if key not in UNIT_ALIASES:
        raise CRSError(f'unknown unit {name!r}; use one of {sorted(UNIT_ALIASES)}')
    return UNIT_ALIASES[key]


def crs_from_geokeys(source: str, keys: dict, ascii_params: str = '') -> CRSInfo:
    """Build a CRSInfo from GeoTIFF/LAS GeoKeys {key_id: value}.

    Keys used: 3072 ProjectedCSTypeGeoKey, 2048 GeographicTypeGeoKey, 3076 ProjLinearUnitsGeoKey,
    4099 VerticalUnitsGeoKey (32767 = user-defined -> ignored).
    """
    info = CRSInfo(source=source)
    for key in (3072, 2048):
        code = keys.get(key)
        if code is not None and 1024 <= int(code) < 32767:
            info.epsg = int(code)
            info.how.append(f'EPSG {code} from GeoKey {key}')
            break
    lin = keys.get(3076)
    if lin is not None and int(lin) in EPSG_UNITS:
        info.unit_name, info.unit_m = EPSG_UNITS[int(lin)]
        info.how.append(f'horizontal unit from GeoKey 3076 = {lin}')
    vert = keys.get(4099)
    if vert is not None and int(vert) in EPSG_UNITS:
        info.vertical_unit_name, info.vertical_unit_m = EPSG_UNITS[int(vert)]
        info.how.append(f'vertical unit from GeoKey 4099 = {vert}')
    return info


def check_compatible(points_crs: CRSInfo, ortho_crs: CRSInfo) -> list:
    """Raise CRSError when the two files' CRS or units disagree; return notes for meta.json.

    Rules: if both have a CRS they must be equal (pyproj ``CRS.equals``, axis order ignored); if
    both have a known linear unit the units must be equal (relative difference < 1e-9). A file
    without a CRS is accepted (noted) — the other file's CRS is then used.
    """
    notes = []
    a, b = points_crs, ortho_crs
    if (
        a.unit_m is not None
        and b.unit_m is not None
        and abs(a.unit_m - b.unit_m) > 1e-9 * max(a.unit_m, b.unit_m)
    ):
        raise CRSError(
            f'linear units disagree: {a.source} is in {a.unit_name} ({a.unit_m} m) but '
            f'{b.source} is in {b.unit_name} ({b.unit_m} m); reproject one of them first'
        )
    if a.known and b.known:
        ca, cb = a.pyproj_crs(), b.pyproj_crs()
        if not ca.equals(cb, ignore_axis_order=True):
            raise CRSError(
                f'CRS disagree: {a.source} is {ca.name!r} but {b.source} is {cb.name!r}; '
                'reproject one of them first'
            )
        notes.append('CRS of point cloud and orthophoto are equal (pyproj CRS.equals)')
    else:
        for info in (a, b):
            if not info.known:
                notes.append(f'{info.source} has no CRS; the other file\'s CRS is assumed')
    return notes
