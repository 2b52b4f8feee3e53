"""Synthetic forest: tree crowns with known heights and leaf density -> airborne point cloud ->
canopy rasters (through the same rasteriser as real data) + a matching synthetic RGBI image.

Deterministic for a given seed; everything is in a local metric CRS (units m, origin (0, 0) at the
lower-left corner of the scene). Purpose: run the whole FSKD pipeline offline and in tests.

Scene model
* Terrain: z_g(x, y) = 100 + 0.04 x + 0.02 y + 1.5 sin(x/40) cos(y/55) (m).
* Trees (Poisson count, ``trees_per_ha``): height H ~ U(h_min, h_max); crown radius
  R = 0.5 + 0.12 H + N(0, radius_noise) (clipped >= 0.8 m) — crown size correlates with height;
  crown base = H * U(0.3, 0.55); crown = ellipsoid of horizontal semi-axis R between base and H;
  leaf area density LAD ~ U(0.2, 1.2) m^2/m^3.
* LiDAR pulses: uniform random (x, y) at ``pulse_density`` per m^2, nadir. At (x, y) the top-most
  crown gives path length L through foliage; vegetation hits are a Poisson process of rate k*LAD
  (k = 0.5) along the path (up to 3 returns); the pulse then yields a ground return with
  probability 1 when no vegetation was hit (so the first-return gap fraction is exactly
  exp(-k LAD L), Beer-Lambert) and probability ``ground_after_veg`` otherwise. Perfect ASPRS
  classification (2 = ground, 1 = vegetation).
* RGBI image (uint8 R, G, B, NIR) at ``gsd``: soil/grass background with low-frequency texture;
  crowns in per-tree random greens (independent of height) with Lambertian shading of the ellipsoid
  for a sun at azimuth 135 deg / elevation ``sun_elevation``; NIR rises with crown foliage density
  (1 - exp(-k LAD L)); each tree casts a shadow displaced by H / tan(elevation) away from the sun.
  Height is therefore only weakly visible (shadow length, crown size), while a LiDAR-fed teacher
  sees it exactly.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .crs import CRSInfo
from .grid import Grid
from .io import PointCloud


@dataclass
class SyntheticForestConfig:
    """Parameters of :func:`make_synthetic_forest` (recorded in meta.json)."""

    seed: int = 0
    size_px: int = 512  # scene edge in image pixels
    gsd: float = 0.5  # image pixel size (m)
    trees_per_ha: float = 250.0
    h_min: float = 4.0
    h_max: float = 32.0
    radius_noise: float = 0.8  # m, std of crown-radius noise around 0.5 + 0.12 H
    lad_min: float = 0.2
    lad_max: float = 1.2
    k: float = 0.5  # extinction coefficient used to simulate the pulses
    pulse_density: float = 8.0  # pulses per m^2
    ground_after_veg: float = 0.5
    sun_elevation: float = 50.0  # degrees
    sun_azimuth: float = 135.0  # degrees clockwise from north (SE sun)


def terrain(x, y):
    return 100.0 + 0.04 * x + 0.02 * y + 1.5 * np.sin(x / 40.0) * np.cos(y / 55.0)


def _smooth_noise(rng, h, w, scale):
    """Low-frequency noise in [-1, 1] (bilinear upsampling of a coarse random grid)."""
    from scipy.ndimage import zoom

    ch, cw = max(2, h // scale + 2), max(2, w // scale + 2)
    coarse = rng.uniform(-1, 1, (ch, cw))
    up = zoom(coarse, (h / (ch - 1) + 1e-9, w / (cw - 1) + 1e-9), order=1)
    return up[:h, :w]


def make_synthetic_forest(cfg: SyntheticForestConfig = None) -> dict:
    """Build a synthetic scene.

    Returns dict:
        'points': PointCloud (metres, local CRS), 'image': (S, S, 4) uint8 R,G,B,NIR,
        'grid': image pixel Grid, 'trees': list of dicts (x, y, height, radius, base, lad),
        'truth_top': (S, S) float32 crown-top height above ground (0 = no crown) at image pixels,
        'truth_pai': (S, S) float32 LAD * L (true plant area index along the vertical) per pixel.
    """
    cfg = cfg or SyntheticForestConfig()
    rng = np.random.default_rng(cfg.seed)
    s, g = int(cfg.size_px), float(cfg.gsd)
    extent = s * g
    grid = Grid(0.0, extent, g, g, s, s)
    area_ha = extent * extent / 1e4
    n_trees = int(rng.poisson(cfg.trees_per_ha * area_ha))
    tx = rng.uniform(0, extent, n_trees)
    ty = rng.uniform(0, extent, n_trees)
    th = rng.uniform(cfg.h_min, cfg.h_max, n_trees)
    tr = np.clip(0.5 + 0.12 * th + rng.normal(0, cfg.radius_noise, n_trees), 0.8, None)
    tb = th * rng.uniform(0.3, 0.55, n_trees)
    tl = rng.uniform(cfg.lad_min, cfg.lad_max, n_trees)
    tcol = np.stack(
        [rng.uniform(35, 75, n_trees), rng.uniform(70, 120, n_trees), rng.uniform(30, 60, n_trees)],
        1,
    )

    xc, yc = grid.centres()
    top = np.zeros((s, s))  # crown top HAG of the top-most crown
    bot = np.zeros((s, s))
    tid = np.full((s, s), -1, np.int64)
    shade = np.ones((s, s))
    az = math.radians(cfg.sun_azimuth)
    el = math.radians(cfg.sun_elevation)
    sun = np.array(
        [math.sin(az) * math.cos(el), math.cos(az) * math.cos(el), math.sin(el)]
    )  # x=E, y=N, z=up
    shadow = np.zeros((s, s), bool)
    for i in np.argsort(th):  # ascending height: taller crowns paint over shorter ones
        r = tr[i]
        c0 = max(0, int((tx[i] - r) / g))
        c1 = min(s, int((tx[i] + r) / g) + 2)
        r0 = max(0, int((extent - ty[i] - r) / g))
        r1 = min(s, int((extent - ty[i] + r) / g) + 2)
        # shadow: crown disc displaced away from the sun by (crown centre height) / tan(elevation)
        hc = 0.5 * (th[i] + tb[i])
        off = hc / math.tan(el)
        sx, sy = tx[i] - off * math.sin(az), ty[i] - off * math.cos(az)
        sc0 = max(0, int((sx - r) / g))
        sc1 = min(s, int((sx + r) / g) + 2)
        sr0 = max(0, int((extent - sy - r) / g))
        sr1 = min(s, int((extent - sy + r) / g) + 2)
        if sc1 > sc0 and sr1 > sr0:
            dxs = xc[None, sc0:sc1] - sx
            dys = yc[sr0:sr1, None] - sy
            shadow[sr0:sr1, sc0:sc1] |= (dxs**2 + dys**2) < r * r
        if c1 <= c0 or r1 <= r0:
            continue
        dx = xc[None, c0:c1] - tx[i]
        dy = yc[r0:r1, None] - ty[i]
        q = 1.0 - (dx**2 + dy**2) / (r * r)
        inside = q > 0
        az_semi = 0.5 * (th[i] - tb[i])
        zc = tb[i] + az_semi
        ztop = np.where(inside, zc + az_semi * np.sqrt(np.clip(q, 0, 1)), 0.0)
        zbot = np.where(inside, zc - az_semi * np.sqrt(np.clip(q, 0, 1)), 0.0)
        win = inside & (ztop > top[r0:r1, c0:c1])
        top[r0:r1, c0:c1] = np.where(win, ztop, top[r0:r1, c0:c1])
        bot[r0:r1, c0:c1] = np.where(win, zbot, bot[r0:r1, c0:c1])
        tid[r0:r1, c0:c1] = np.where(win, i, tid[r0:r1, c0:c1])
        # Lambertian shading on the ellipsoid surface (normal of x^2/R^2 + y^2/R^2 + z^2/a^2 = 1)
        nz = (ztop - zc) / max(az_semi, 1e-6) ** 2
        nx, ny = dx / r**2, dy / r**2
        nn = np.sqrt(nx**2 + ny**2 + nz**2) + 1e-12
        lam = np.clip((nx * sun[0] + ny * sun[1] + nz * sun[2]) / nn, 0, 1)
        shade[r0:r1, c0:c1] = np.where(win, 0.45 + 0.55 * lam, shade[r0:r1, c0:c1])

    path = np.where(tid >= 0, top - bot, 0.0)
    lad_px = np.where(tid >= 0, tl[np.maximum(tid, 0)], 0.0)
    truth_pai = lad_px * path

    # --- point cloud ---------------------------------------------------------------------------
    n_p = int(rng.poisson(cfg.pulse_density * extent * extent))
    px = rng.uniform(0, extent, n_p)
    py = rng.uniform(0, extent, n_p)
    pr, pc_, _ = grid.cell_of(px, py)
    pr, pc_ = np.clip(pr, 0, s - 1), np.clip(pc_, 0, s - 1)
    ptop, pL, plad = top[pr, pc_], path[pr, pc_], lad_px[pr, pc_]
    zg = terrain(px, py)
    rate = cfg.k * plad
    depths = np.cumsum(rng.exponential(1.0, (n_p, 3)) / np.maximum(rate, 1e-12)[:, None], axis=1)
    hit = (depths < pL[:, None]) & (plad[:, None] > 0)
    n_veg = hit.sum(1)
    ground = (n_veg == 0) | (rng.random(n_p) < cfg.ground_after_veg)
    n_ret = n_veg + ground.astype(np.int64)
    xs, ys, zs, cls, rn, nr = [], [], [], [], [], []
    for j in range(3):
        m = hit[:, j]
        xs.append(px[m])
        ys.append(py[m])
        zs.append(zg[m] + ptop[m] - depths[m, j])
        cls.append(np.ones(m.sum(), np.uint8))
        rn.append(np.full(m.sum(), j + 1, np.uint8))
        nr.append(n_ret[m].astype(np.uint8))
    m = ground
    xs.append(px[m])
    ys.append(py[m])
    zs.append(zg[m] + rng.normal(0, 0.05, m.sum()))
    cls.append(np.full(m.sum(), 2, np.uint8))
    rn.append((n_veg[m] + 1).astype(np.uint8))
    nr.append(n_ret[m].astype(np.uint8))
    crs = CRSInfo(
        source='synthetic', unit_name='metre', unit_m=1.0, how=['synthetic local metric CRS']
    )
    points = PointCloud(
        np.concatenate(xs),
        np.concatenate(ys),
        np.concatenate(zs),
        np.concatenate(cls),
        np.concatenate(rn),
        np.concatenate(nr),
        crs=crs,
        z_to_m=1.0,
        xy_to_m=1.0,
        path='synthetic-forest',
    )

    # --- RGBI image ----------------------------------------------------------------------------
    tex = _smooth_noise(rng, s, s, 24)
    img = np.empty((s, s, 4))
    img[..., 0] = 120 + 15 * tex
    img[..., 1] = 115 + 12 * tex
    img[..., 2] = 80 + 8 * tex
    img[..., 3] = 95 + 15 * tex
    crown = tid >= 0
    col = tcol[np.maximum(tid, 0)]
    dens = 1.0 - np.exp(-cfg.k * truth_pai)
    for ch in range(3):
        img[..., ch] = np.where(crown, col[..., ch] * shade, img[..., ch])
    img[..., 3] = np.where(crown, (120 + 110 * dens) * (0.7 + 0.3 * shade), img[..., 3])
    sh = shadow & ~crown
    img[sh] *= 0.5
    img += rng.normal(0, 4.0, img.shape)
    image = np.clip(np.round(img), 0, 255).astype(np.uint8)
    trees = [
        dict(
            x=float(tx[i]),
            y=float(ty[i]),
            height=float(th[i]),
            radius=float(tr[i]),
            base=float(tb[i]),
            lad=float(tl[i]),
        )
        for i in range(n_trees)
    ]
    return {
        'points': points,
        'image': image,
        'grid': grid,
        'trees': trees,
        'config': asdict(cfg),
        'truth_top': top.astype(np.float32),
        'truth_pai': truth_pai.astype(np.float32),
    }


def write_synthetic_forest(
    out: str,
    cfg: SyntheticForestConfig = None,
    tile_size: int = 64,
    cell_multiple: int = 2,
    params=None,
    force: bool = False,
    progress: bool = True,
    test_fraction: float = 0.25,
) -> dict:
    """Generate a scene and write it in the crossmodal layout (RGB/ = 4-band R,G,B,NIR PNG)."""
    from .rasterize import RasterParams, compute_rasters, lidar_stack
    from .tiling import check_out_dir, prepare_out_dir, summarise, write_tiles

    cfg = cfg or SyntheticForestConfig()
    params = params or RasterParams(profile_bin_width=4.0, profile_max_height=32.0)
    if cfg.size_px % tile_size or tile_size % cell_multiple:
        raise ValueError(
            f'scene size {cfg.size_px} must be a multiple of the tile size {tile_size}, '
            f'and the tile size a multiple of the cell multiple {cell_multiple}'
        )
    check_out_dir(out, force)
    scene = make_synthetic_forest(cfg)
    prepare_out_dir(out, force)
    mgrid = scene['grid'].coarsen(cell_multiple)
    rasters = compute_rasters(scene['points'], mgrid, params)
    stack, names = lidar_stack(rasters)
    meta = {
        'source': 'synthetic forest (crossmodal.datasets.lidar.synthetic)',
        'synthetic_config': scene['config'],
        'n_trees': len(scene['trees']),
        'n_points': len(scene['points']),
        'crs': {
            'points': scene['points'].crs.to_meta(),
            'ortho': None,
            'notes': ['local metric CRS'],
        },
        'units': {'horizontal': 'metre', 'horizontal_m': 1.0, 'z_to_m': 1.0, 'heights': 'metres'},
        'grid': {
            'ortho': scene['grid'].to_meta(),
            'metric': mgrid.to_meta(),
            'metric_cell_m': [mgrid.px, mgrid.py],
            'window_ortho_rc': [0, 0],
        },
        'raster_params': params.to_meta(),
        'notes': rasters['notes'],
        'summary': summarise(rasters),
        'reconstruction': (
            'FSKD targets (methods.md §4b) — a reconstruction, no code released by the authors'
        ),
    }
    return write_tiles(
        out,
        f'synforest{cfg.seed}',
        scene['image'],
        rasters,
        stack,
        names,
        cell_multiple,
        tile_size,
        (0, 0),
        0.5,
        test_fraction,
        'ortho',
        meta,
        progress,
    )
