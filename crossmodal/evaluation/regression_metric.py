"""Dense regression metrics for canopy structure (CHM / PAI / FHD), FSKD evaluation
(docs/methods/fskd.md (b)).

Data-sample contract (what :meth:`RegressionMetric.process` reads from each data sample, given as a
dict — mmengine's loops pass ``data_sample.to_dict()`` — or as an object with attributes):
    ``pred_regression``: predictions, float, shape (K, H, W) — a torch tensor, a numpy array, or a
        PixelData / dict holding it under ``data``;
    ``gt_regression``: reference of the same shape and type rules, NaN = no data;
    ``img_path`` (optional): used to name error-map PNGs.
Target k is named ``target_names[k]`` (default ``('chm', 'pai', 'fhd')``).

Per target, over pixels where both reference and prediction are finite (d = pred - ref):
    MAE = mean|d|, MedAE = median|d|, RMSE = sqrt(mean d^2), bias = mean d,
    R2 = 1 - sum d^2 / sum (ref - mean ref)^2   (NaN if the reference is constant),
    r = Pearson correlation of pred and ref      (NaN if either is constant),
and on the canopy-height target (``canopy_target``, default 'chm'):
    canopy IoU = |P & G| / |P | G| with P = pred >= threshold, G = ref >= threshold
    (threshold default 2 m; NaN if neither has canopy).
Result keys: ``'<target>_<metric>'`` e.g. ``chm_MAE``, ``chm_canopy_IoU``, ``n_pixels_<target>``.

With ``out_dir`` set, ``compute_metrics`` saves ``scatter_<target>.png`` (predicted vs reference,
at most ``max_scatter_points`` random pixels) and ``process`` saves up to ``max_error_maps`` maps
``errors/<name>_<target>.png`` of pred - ref (matplotlib, Agg backend).
"""

from __future__ import annotations

import os
from typing import Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmseg.registry import METRICS


def _to_numpy(value, key: str) -> np.ndarray:
    if isinstance(value, dict):
        if 'data' not in value:
            raise KeyError(f'RegressionMetric: {key} dict has no "data" entry')
        value = value['data']
    elif (
        hasattr(value, 'data')
        and not isinstance(value, np.ndarray)
        and not hasattr(value, 'detach')
    ):
        value = value.data
    if hasattr(value, 'detach'):
        value = value.detach().cpu().float().numpy()
    return np.asarray(value, dtype=np.float64)


def _get(sample, key):
    if isinstance(sample, dict):
        if key not in sample:
            raise KeyError(f'RegressionMetric: data sample has no {key!r} (keys: {sorted(sample)})')
        return sample[key]
    if not hasattr(sample, key):
        raise KeyError(f'RegressionMetric: data sample has no {key!r}')
    return getattr(sample, key)


def regression_scores(pred: np.ndarray, ref: np.ndarray) -> dict:
    """MAE, MedAE, RMSE, bias, R2, r on 1-D arrays of valid pairs (NaN-free)."""
    n = pred.size
    if n == 0:
        return {k: float('nan') for k in ('MAE', 'MedAE', 'RMSE', 'bias', 'R2', 'r')}
    d = pred - ref
    ss_res = float(np.sum(d * d))
    ss_tot = float(np.sum((ref - ref.mean()) ** 2))
    sp, sr = pred.std(), ref.std()
    r = (
        float(np.mean((pred - pred.mean()) * (ref - ref.mean())) / (sp * sr))
        if sp > 0 and sr > 0
        else float('nan')
    )
    return {
        'MAE': float(np.mean(np.abs(d))),
        'MedAE': float(np.median(np.abs(d))),
        'RMSE': float(np.sqrt(np.mean(d * d))),
        'bias': float(np.mean(d)),
        'R2': 1.0 - ss_res / ss_tot if ss_tot > 0 else float('nan'),
        'r': r,
    }


def canopy_iou(pred: np.ndarray, ref: np.ndarray, threshold: float) -> tuple:
    """(intersection, union) pixel counts of the canopy masks pred >= t and ref >= t."""
    p, g = pred >= threshold, ref >= threshold
    return int(np.sum(p & g)), int(np.sum(p | g))


@METRICS.register_module()
class RegressionMetric(BaseMetric):
    """Per-target dense regression metrics with NaN-masking and canopy IoU (see module docstring).

    Args:
        target_names: names of the K target channels, in order.
        canopy_target: name of the canopy-height target used for canopy IoU (None disables it).
        canopy_threshold: height (target units, m) above which a pixel is canopy; default 2.0.
        out_dir: directory for scatter plots / error maps (None = no files).
        max_error_maps: how many samples get an error-map PNG.
        max_scatter_points: pixels per target drawn in the scatter plot (random, seed 0).
    """

    default_prefix: Optional[str] = None

    def __init__(
        self,
        target_names: Sequence[str] = ('chm', 'pai', 'fhd'),
        canopy_target: Optional[str] = 'chm',
        canopy_threshold: float = 2.0,
        out_dir: Optional[str] = None,
        max_error_maps: int = 8,
        max_scatter_points: int = 20000,
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
        **kwargs,
    ):
        super().__init__(collect_device=collect_device, prefix=prefix, **kwargs)
        self.target_names = list(target_names)
        if canopy_target is not None and canopy_target not in self.target_names:
            raise ValueError(f'canopy_target {canopy_target!r} is not one of {self.target_names}')
        self.canopy_target = canopy_target
        self.canopy_threshold = float(canopy_threshold)
        self.out_dir = out_dir
        self.max_error_maps = int(max_error_maps)
        self.max_scatter_points = int(max_scatter_points)
        self._maps_written = 0

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            pred = _to_numpy(_get(sample, 'pred_regression'), 'pred_regression')
            ref = _to_numpy(_get(sample, 'gt_regression'), 'gt_regression')
            if pred.ndim == 2:
                pred, ref = pred[None], ref[None] if ref.ndim == 2 else ref
            if pred.shape != ref.shape:
                raise ValueError(
                    f'RegressionMetric: pred_regression {pred.shape} and gt_regression '
                    f'{ref.shape} differ'
                )
            if pred.shape[0] != len(self.target_names):
                raise ValueError(
                    f'RegressionMetric: {pred.shape[0]} channels but target_names = '
                    f'{self.target_names}'
                )
            result = {}
            for k, name in enumerate(self.target_names):
                valid = np.isfinite(pred[k]) & np.isfinite(ref[k])
                result[name] = (pred[k][valid].astype(np.float32), ref[k][valid].astype(np.float32))
            self.results.append(result)
            if self.out_dir and self._maps_written < self.max_error_maps:
                path = _get(sample, 'img_path') if _has(sample, 'img_path') else None
                stem = (
                    os.path.splitext(os.path.basename(path))[0]
                    if path
                    else f'sample{self._maps_written:04d}'
                )
                self._save_error_maps(stem, pred, ref)
                self._maps_written += 1

    def compute_metrics(self, results: list) -> dict:
        out = {}
        for name in self.target_names:
            pred = (
                np.concatenate([r[name][0] for r in results]).astype(np.float64)
                if results
                else np.zeros(0)
            )
            ref = (
                np.concatenate([r[name][1] for r in results]).astype(np.float64)
                if results
                else np.zeros(0)
            )
            for key, val in regression_scores(pred, ref).items():
                out[f'{name}_{key}'] = val
            out[f'n_pixels_{name}'] = int(pred.size)
            if name == self.canopy_target:
                inter, union = canopy_iou(pred, ref, self.canopy_threshold)
                out[f'{name}_canopy_IoU'] = inter / union if union else float('nan')
            if self.out_dir:
                self._save_scatter(name, pred, ref)
        return out

    # plotting -------------------------------------------------------------------------------------
    def _save_scatter(self, name, pred, ref):
        import matplotlib

        matplotlib.use('Agg')
        import matplotlib.pyplot as plt

        os.makedirs(self.out_dir, exist_ok=True)
        if pred.size > self.max_scatter_points:
            idx = np.random.default_rng(0).choice(pred.size, self.max_scatter_points, replace=False)
            pred, ref = pred[idx], ref[idx]
        fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
        ax.scatter(ref, pred, s=2, alpha=0.3)
        if ref.size:
            lo, hi = float(min(ref.min(), pred.min())), float(max(ref.max(), pred.max()))
            ax.plot([lo, hi], [lo, hi], 'k--', lw=1)
        ax.set_xlabel(f'reference {name}')
        ax.set_ylabel(f'predicted {name}')
        fig.tight_layout()
        fig.savefig(os.path.join(self.out_dir, f'scatter_{name}.png'))
        plt.close(fig)

    def _save_error_maps(self, stem, pred, ref):
        import matplotlib

        matplotlib.use('Agg')
        import matplotlib.pyplot as plt

        d = os.path.join(self.out_dir, 'errors')
        os.makedirs(d, exist_ok=True)
        for k, name in enumerate(self.target_names):
            err = pred[k] - ref[k]
            lim = float(np.nanmax(np.abs(err))) if np.isfinite(err).any() else 1.0
            fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
            im = ax.imshow(np.ma.masked_invalid(err), cmap='RdBu_r', vmin=-lim, vmax=lim)
            fig.colorbar(im, ax=ax, label=f'pred - ref ({name})')
            ax.set_axis_off()
            fig.tight_layout()
            fig.savefig(os.path.join(d, f'{stem}_{name}.png'))
            plt.close(fig)


def _has(sample, key):
    return key in sample if isinstance(sample, dict) else hasattr(sample, key)
