"""Missing-modality robustness evaluation for any crossmodal / mmseg segmentor config.

A missing sensor is simulated by blanking that modality in the *test pipeline* with a deterministic
:class:`~crossmodal.datasets.transforms.ModalityDropout` (``p=1``, ``keep_at_least_one=False``)
inserted just before the packing transform, so every model type works unchanged: the RGB-X teacher
(:class:`MultiModalEncoderDecoder`), :class:`RTFDNet`, and stock RGB students (whose only
modality, ``rgb``, can be blanked too).

Fill policies (values in stored units, i.e. what the loader yields, before normalisation):

* ``'zero'``: the modality becomes 0 everywhere (a dead sensor).
* ``'mean'``: the *dataset* mean per channel, taken from the model's data preprocessor ``mean``
  (the normalisation statistics), so the blanked input normalises to exactly 0. Overridable per
  modality with ``fill_value``; a modality the preprocessor does not normalise needs one.
* ``'sample-mean'``: each sample's own per-channel mean (ModalityDropout's ``fill='mean'``).

Used by ``tools/test.py --modalities/--drop/--fill/--robustness``.
"""

from __future__ import annotations

import copy
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence

from mmengine.config import Config, ConfigDict

from .aug_test import unwrap_config
from .strict_json import dump_strict_json

FILLS = ('zero', 'mean', 'sample-mean')


class RobustnessConfigError(ValueError):
    """The config cannot be evaluated with the requested modalities."""


def model_modalities(cfg: Config) -> tuple:
    """Modalities the model consumes.

    ``model.modalities`` of multimodal models; else the ``modalities`` packed by the test pipeline's
    ``PackMultiModalInputs`` (e.g. a stacked RGB + NIR student); else ``('rgb',)`` (stock student).
    """
    mods = unwrap_config(cfg.model).get('modalities', None)
    if mods:
        return tuple(mods)
    ds = cfg.get('test_dataloader', {}).get('dataset', {})
    for t in ds.get('pipeline', None) or ():
        if t.get('type') == 'PackMultiModalInputs' and t.get('modalities'):
            return tuple(t['modalities'])
    return ('rgb',)


def _preprocessor_means(cfg: Config) -> Dict[str, List[float]]:
    """{modality: per-channel mean in loader order} from the model's data preprocessor."""
    dp = (
        unwrap_config(cfg.model).get('data_preprocessor', None)
        or cfg.get('data_preprocessor', None)
        or {}
    )
    mean = dp.get('mean', None)
    if mean is None:
        return {}
    if isinstance(mean, dict):
        return {k: [float(x) for x in v] for k, v in mean.items()}
    vals = [float(x) for x in mean]  # stock SegDataPreProcessor: the RGB image
    if dp.get('bgr_to_rgb', False):  # image is loaded BGR, mean is given in RGB order
        vals = vals[::-1]
    return {'rgb': vals}


def parse_fill_values(items: Optional[Sequence[str]]) -> Dict[str, List[float]]:
    """``['thermal=100', 'rgb=120,115,100']`` ->
    ``{'thermal': [100.0], 'rgb': [120., 115., 100.]}``."""
    out = {}
    for item in items or ():
        if '=' not in item:
            raise RobustnessConfigError(f'--fill-value expects NAME=V[,V...], got {item!r}')
        name, vals = item.split('=', 1)
        try:
            out[name.strip()] = [float(v) for v in vals.split(',')]
        except ValueError as e:
            raise RobustnessConfigError(f'--fill-value {item!r}: {e}') from None
    return out


def resolve_drop(
    cfg: Config, modalities: Optional[Sequence[str]] = None, drop: Optional[Sequence[str]] = None
) -> List[str]:
    """Modalities to blank, from ``modalities`` (those given) and/or ``drop`` (those missing)."""
    consumed = model_modalities(cfg)
    out: List[str] = []
    if modalities is not None:
        unknown = [m for m in modalities if m not in consumed]
        if unknown:
            raise RobustnessConfigError(
                f'--modalities names {unknown}, but the model takes {list(consumed)}'
            )
        out += [m for m in consumed if m not in modalities]
    for m in drop or ():
        if m not in consumed:
            raise RobustnessConfigError(f'--drop {m}: the model takes only {list(consumed)}')
        if m not in out:
            out.append(m)
    return out


def blanking_transform(
    cfg: Config,
    drop: Sequence[str],
    fill: str = 'zero',
    fill_value: Optional[Dict[str, Sequence[float]]] = None,
) -> dict:
    """The ModalityDropout config that blanks ``drop`` deterministically."""
    if fill not in FILLS:
        raise RobustnessConfigError(f'fill must be one of {FILLS}, got {fill!r}')
    fill_value = dict(fill_value or {})
    t = dict(type='ModalityDropout', p=1.0, modalities=list(drop), keep_at_least_one=False)
    if fill == 'zero' and not fill_value:
        t['fill'] = 'zero'
    elif fill == 'sample-mean':
        t['fill'] = 'mean'
    else:
        means = _preprocessor_means(cfg) if fill == 'mean' else {}
        values = {}
        for m in drop:
            if m in fill_value:
                values[m] = list(fill_value[m])
            elif fill == 'zero':
                values[m] = [0.0]
            elif m in means:
                values[m] = means[m]
            else:
                raise RobustnessConfigError(
                    f'--fill mean: the data preprocessor has no mean for "{m}"; give one with '
                    f'--fill-value {m}=V[,V...]'
                )
        t['fill'] = 'value'
        t['fill_value'] = {m: (v[0] if len(v) == 1 else v) for m, v in values.items()}
    return t


def insert_blanking(
    cfg: Config,
    drop: Sequence[str],
    fill: str = 'zero',
    fill_value: Optional[Dict[str, Sequence[float]]] = None,
) -> Optional[dict]:
    """Insert the blanking transform into ``cfg.test_dataloader``'s pipeline (in place).

    It goes right before the packing transform (``Pack*``), i.e. after loading and any resizing.
    Returns the inserted transform config (None when ``drop`` is empty).
    """
    if not drop:
        return None
    t = blanking_transform(cfg, drop, fill, fill_value)
    ds = cfg.test_dataloader.dataset
    if 'pipeline' not in ds:
        raise RobustnessConfigError(
            f'test_dataloader.dataset ({ds.get("type")}) has no pipeline to insert the blanking '
            f'transform into (dataset wrappers are not supported)'
        )
    pipeline = list(ds.pipeline)
    idx = next(
        (i for i, p in enumerate(pipeline) if str(p.get('type', '')).startswith('Pack')),
        len(pipeline),
    )
    pipeline.insert(idx, ConfigDict(t))
    ds.pipeline = pipeline
    return t


def evaluate(cfg: Config) -> Dict[str, float]:
    """Build a Runner from ``cfg`` and run its test loop; ``load_from`` (the checkpoint) is loaded
    strictly (:func:`crossmodal.utils.checkpoint_kind.build_runner_and_load`)."""
    from crossmodal.utils.checkpoint_kind import build_runner_and_load

    runner, _ = build_runner_and_load(cfg)
    metrics = runner.test()
    return {k: float(v) for k, v in metrics.items()}


def scenarios_for(cfg: Config) -> List[tuple]:
    """[(name, dropped modalities)]: full input, then each consumed modality missing."""
    mods = model_modalities(cfg)
    return [('full', [])] + [(f'{m} missing', [m]) for m in mods]


def _table_columns(rows: List[dict]) -> List[str]:
    keys: List[str] = []
    for r in rows:
        for k in r['metrics']:
            if k not in keys and '.' not in k and (k.startswith('mIoU') or k == 'aAcc'):
                keys.append(k)
    return sorted(keys, key=lambda k: (k != 'mIoU', k != 'aAcc', k))


def format_table(rows: List[dict]) -> str:
    """Markdown table: one row per scenario, mIoU columns and the mIoU change vs full input."""
    cols = _table_columns(rows)
    full = next((r for r in rows if not r['dropped']), None)
    head = ['input', 'dropped'] + cols + (['ΔmIoU'] if full and 'mIoU' in cols else [])
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for r in rows:
        cells = [r['scenario'], ','.join(r['dropped']) or '-']
        cells += [f"{r['metrics'][c]:.2f}" if c in r['metrics'] else '' for c in cols]
        if full and 'mIoU' in cols:
            cells.append(f"{r['metrics'].get('mIoU', float('nan')) - full['metrics']['mIoU']:+.2f}")
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def run_robustness(
    cfg: Config,
    fill: str = 'zero',
    fill_value: Optional[Dict[str, Sequence[float]]] = None,
    scenarios: Optional[List[tuple]] = None,
    out_prefix: Optional[str] = None,
    write: bool = True,
) -> dict:
    """Evaluate ``cfg`` (with ``load_from`` set) with full input and each modality missing.

    Writes ``<out_prefix>.md`` and ``<out_prefix>.json`` (default ``<work_dir>/robustness``) when
    ``write``; returns ``{'fill', 'fill_value', 'rows': [{scenario, dropped, metrics}], 'table'}``.
    """
    rows = []
    stamp = time.strftime('%Y%m%d_%H%M%S')
    base_name = cfg.get('experiment_name', None) or 'robustness'
    for name, drop in scenarios or scenarios_for(cfg):
        c = copy.deepcopy(cfg)
        t = insert_blanking(c, drop, fill, fill_value)
        tag = 'full' if not drop else 'no_' + '_'.join(drop)
        c.work_dir = osp.join(cfg.work_dir, 'robustness', tag)
        c.experiment_name = f'{base_name}_{tag}_{stamp}'
        vis = c.get('default_hooks', {}).get('visualization', None)
        if vis and vis.get('out_dir'):  # --show-dir: one folder per scenario, nothing overwritten
            vis['out_dir'] = osp.join(vis['out_dir'], tag)
        metrics = evaluate(c)
        rows.append(dict(scenario=name, dropped=list(drop), transform=t, metrics=metrics))
    result = dict(
        fill=fill,
        fill_value={k: list(v) for k, v in (fill_value or {}).items()},
        rows=rows,
        table=format_table(rows),
    )
    if write:
        out_prefix = out_prefix or osp.join(cfg.work_dir, 'robustness')
        os.makedirs(osp.dirname(osp.abspath(out_prefix)), exist_ok=True)
        with open(out_prefix + '.md', 'w') as f:
            f.write(f'fill: {fill}\n\n' + result['table'] + '\n')
        dump_strict_json(result, out_prefix + '.json')  # NaN metrics -> null (strict JSON)
        result['written'] = [out_prefix + '.md', out_prefix + '.json']
    return result
