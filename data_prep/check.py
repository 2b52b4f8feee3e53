"""Dataset checker for the crossmodal layout (DESIGN.md §3); CLI: ``tools/check_dataset.py <root> [--json]``.

One pass over every stem of every split named in ``meta.json``; every problem found is reported (nothing
stops at the first one). Problem kinds:

- ``meta_invalid``        meta.json missing/unparsable or a required field missing or inconsistent
- ``missing_split_file``  a split file named in meta.json does not exist
- ``duplicate_stem``      a stem listed twice in one split file
- ``pair_split_mismatch`` ``<split>_pairs.txt`` does not list the same stems as ``<split>.txt``
- ``missing_file``        a stem's file is missing for a modality or the label (a stem without any files
                          gives one per modality)
- ``unreadable``          a file exists but cannot be decoded
- ``wrong_dtype``         stored dtype/bit depth differs from meta.json (label: uint8)
- ``wrong_channels``      channel count differs from meta.json (label: 1)
- ``size_mismatch``       a modality's HxW differs from the label's
- ``label_out_of_range``  stored label values that are neither a class (``0 <= v + label_offset < C``) nor
                          void (``v + label_offset < 0`` or ``v == 255``)
- ``empty_depth``         a depth-like modality (one with a ``unit``) that is all zero

Regression targets declared under ``targets`` are checked for presence, dtype (float32 unless declared)
and size like modalities.

Summary: stems per split, class histogram per split (pixels per class name + void), depth range per
depth-like modality (metres via ``scale``, over non-zero pixels; fraction of zero pixels), image sizes.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from typing import Any, Dict, List, Optional

import cv2
import numpy as np

REQUIRED = ('classes', 'palette', 'ignore_index', 'label_offset', 'label', 'modalities', 'splits')


def _read(path: str):
    if path.endswith('.npy'):
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None
    return cv2.imread(path, cv2.IMREAD_UNCHANGED)


def _channels(a: np.ndarray) -> int:
    return 1 if a.ndim == 2 else a.shape[2]


class _Report:
    def __init__(self, root: str):
        self.root = root
        self.problems: List[Dict[str, Any]] = []

    def add(self, kind: str, message: str, **fields):
        self.problems.append(dict(kind=kind, message=message, **fields))


def _load_meta(root: str, rep: _Report) -> Optional[Dict]:
    path = os.path.join(root, 'meta.json')
    if not os.path.isfile(path):
        rep.add('meta_invalid', f'{path}: meta.json is missing', path=path)
        return None
    try:
        with open(path) as f:
            meta = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        rep.add('meta_invalid', f'{path}: cannot parse: {e}', path=path)
        return None
    missing = [k for k in REQUIRED if k not in meta]
    if missing:
        rep.add('meta_invalid', f'{path}: missing field(s) {missing}', path=path)
        return None
    if len(meta['palette']) != len(meta['classes']):
        rep.add('meta_invalid', f"{path}: {len(meta['classes'])} classes but {len(meta['palette'])} colours",
                path=path)
    if 'rgb' not in meta['modalities']:
        rep.add('meta_invalid', f'{path}: modalities lack "rgb"', path=path)
    for name, spec in list(meta['modalities'].items()) + [('label', meta['label'])]:
        if not isinstance(spec, dict) or 'folder' not in spec or 'ext' not in spec:
            rep.add('meta_invalid', f'{path}: {name} needs "folder" and "ext"', path=path)
            return None
    return meta


def _read_split(root: str, fname: str, rep: _Report, split: str) -> Optional[List[str]]:
    path = os.path.join(root, fname)
    if not os.path.isfile(path):
        rep.add('missing_split_file', f'{path}: split file of "{split}" not found', split=split, path=path)
        return None
    with open(path) as f:
        stems = [ln.strip() for ln in f if ln.strip()]
    dup = sorted(s for s, c in Counter(stems).items() if c > 1)
    for s in dup:
        rep.add('duplicate_stem', f'{path}: stem {s!r} listed more than once', split=split, stem=s, path=path)
    return stems


def _check_pairs(root: str, meta: Dict, file_stems: Dict[str, List[str]], rep: _Report) -> None:
    """meta 'pair_split_files' maps a stems file (train.txt) to its pairs file (train_pairs.txt)."""
    for stems_file, fname in (meta.get('pair_split_files') or {}).items():
        path = os.path.join(root, fname)
        if stems_file not in file_stems:
            continue
        split = stems_file
        if not os.path.isfile(path):
            rep.add('missing_split_file', f'{path}: pair-style split file not found', split=split, path=path)
            continue
        with open(path) as f:
            firsts = [ln.split()[0] for ln in f if ln.strip()]
        stems = [os.path.splitext(p.split('/', 1)[-1])[0] for p in firsts]
        if stems != file_stems[stems_file]:
            rep.add('pair_split_mismatch', f'{path}: lists {len(stems)} stems that differ from {stems_file}',
                    split=split, path=path)


def check_dataset(root: str) -> Dict[str, Any]:
    """Check the dataset at ``root``; returns ``{'root', 'ok', 'problems': [...], 'summary': {...}}``."""
    rep = _Report(root)
    meta = _load_meta(root, rep)
    summary: Dict[str, Any] = {}
    if meta is None:
        return {'root': root, 'ok': False, 'problems': rep.problems, 'summary': summary}
    classes, offset = meta['classes'], int(meta['label_offset'])
    n_cls = len(classes)
    stored = np.arange(256)
    train_ids = stored + offset
    is_void = (stored == 255) | (train_ids < 0)
    is_class = ~is_void & (train_ids < n_cls)

    split_stems: Dict[str, List[str]] = {}
    file_stems: Dict[str, List[str]] = {}
    for split, fname in meta['splits'].items():
        stems = _read_split(root, fname, rep, split)
        if stems is not None:
            split_stems[split] = file_stems[fname] = stems
    _check_pairs(root, meta, file_stems, rep)

    specs = dict(meta['modalities'])
    for t_name, t_spec in (meta.get('targets') or {}).items():  # regression targets: float32 .npy
        specs[f'target:{t_name}'] = dict({'dtype': 'float32'}, **t_spec)
    lab_spec = dict(meta['label'], dtype='uint8', channels=1)
    depth_like = [m for m, s in specs.items()
                  if m != 'rgb' and not m.startswith('target:') and 'unit' in s and s.get('channels', 1) == 1]
    per_stem_hist: Dict[str, np.ndarray] = {}
    depth_stats = {m: {'min': np.inf, 'max': -np.inf, 'zero': 0, 'pixels': 0} for m in depth_like}
    sizes: Counter = Counter()
    all_stems = list(dict.fromkeys(s for stems in split_stems.values() for s in stems))
    for stem in all_stems:
        shapes = {}
        for name, spec in list(specs.items()) + [('label', lab_spec)]:
            path = os.path.join(root, spec['folder'], stem + spec['ext'])
            ctx = dict(stem=stem, modality=name, path=path)
            if not os.path.isfile(path):
                rep.add('missing_file', f'{path}: missing ({name} of stem {stem!r})', **ctx)
                continue
            arr = _read(path)
            if arr is None:
                rep.add('unreadable', f'{path}: cannot be read', **ctx)
                continue
            shapes[name] = arr.shape[:2]
            if 'dtype' in spec and str(arr.dtype) != spec['dtype']:
                rep.add('wrong_dtype', f"{path}: stored as {arr.dtype}, meta.json says {spec['dtype']}",
                        found=str(arr.dtype), expected=spec['dtype'], **ctx)
            if 'channels' in spec and _channels(arr) != int(spec['channels']):
                rep.add('wrong_channels', f"{path}: {_channels(arr)} channel(s), meta.json says "
                                          f"{spec['channels']}", found=_channels(arr),
                        expected=int(spec['channels']), **ctx)
            if name == 'label':
                lab = arr if arr.ndim == 2 else arr[:, :, 0]
                if lab.dtype != np.uint8:
                    lab = np.clip(lab, 0, 255).astype(np.uint8) if lab.max(initial=0) <= 255 else None
                if lab is None:
                    rep.add('label_out_of_range', f'{path}: label values above 255', values=[], **ctx)
                    continue
                counts = np.bincount(lab.ravel(), minlength=256)
                bad = np.nonzero((counts > 0) & ~is_void & ~is_class)[0]
                if bad.size:
                    rep.add('label_out_of_range',
                            f'{path}: stored values {bad.tolist()[:20]} are neither classes (stored '
                            f'{max(-offset, 0)}..{n_cls - 1 - offset}) nor void (255'
                            + (f', < {-offset}' if offset < 0 else '') + ')', values=bad.tolist(), **ctx)
                per_stem_hist[stem] = counts
            elif name in depth_like and arr.ndim == 2:
                nz = arr[arr > 0] if arr.dtype.kind != 'f' else arr[np.isfinite(arr) & (arr > 0)]
                st = depth_stats[name]
                st['pixels'] += arr.size
                st['zero'] += arr.size - nz.size
                if nz.size == 0:
                    rep.add('empty_depth', f'{path}: {name} is all zero / no valid pixel', **ctx)
                else:
                    sc = float(specs[name].get('scale', 1.0))
                    st['min'] = min(st['min'], float(nz.min()) * sc)
                    st['max'] = max(st['max'], float(nz.max()) * sc)
        ref = shapes.get('label') or shapes.get('rgb')
        for name, hw in shapes.items():
            if hw != ref:
                rep.add('size_mismatch', f"{stem}: {name} is {hw[0]}x{hw[1]} but "
                                         f"{'label' if 'label' in shapes else 'rgb'} is {ref[0]}x{ref[1]}",
                        stem=stem, modality=name, found=list(hw), expected=list(ref))
        if ref is not None:
            sizes[f'{ref[0]}x{ref[1]}'] += 1

    hist = {}
    for split, stems in split_stems.items():
        tot = np.zeros(256, np.int64)
        for s in stems:
            if s in per_stem_hist:
                tot += per_stem_hist[s]
        h = {c: int(tot[is_class & (train_ids == i)].sum()) for i, c in enumerate(classes)}
        h['<void>'] = int(tot[is_void].sum())
        h['<out_of_range>'] = int(tot[~is_void & ~is_class].sum())
        hist[split] = h
    summary = {
        'name': meta.get('name'),
        'counts': {s: len(v) for s, v in split_stems.items()},
        'unique_stems': len(all_stems),
        'class_histogram': hist,
        'depth_range': {m: ({'min_m': st['min'], 'max_m': st['max'],
                             'zero_fraction': st['zero'] / st['pixels'] if st['pixels'] else None}
                            if np.isfinite(st['min']) else {'min_m': None, 'max_m': None,
                                                            'zero_fraction': 1.0 if st['pixels'] else None})
                        for m, st in depth_stats.items()},
        'image_sizes': dict(sizes.most_common(10)),
        'problem_counts': dict(Counter(p['kind'] for p in rep.problems)),
    }
    return {'root': root, 'ok': not rep.problems, 'problems': rep.problems, 'summary': summary}


def format_report(report: Dict[str, Any]) -> str:
    """Human-readable report: every problem, then the summary."""
    lines = [f"dataset: {report['root']}"]
    probs = report['problems']
    lines.append(f'problems: {len(probs)}' + ('' if probs else ' (OK)'))
    for p in probs:
        lines.append(f"  [{p['kind']}] {p['message']}")
    s = report['summary']
    if s:
        lines.append('summary:')
        lines.append(f"  name: {s.get('name')}  unique stems: {s['unique_stems']}")
        lines.append('  stems per split: ' + ', '.join(f'{k} {v}' for k, v in s['counts'].items()))
        lines.append('  image sizes (HxW: count): ' + ', '.join(f'{k}: {v}' for k, v in s['image_sizes'].items()))
        for m, d in s['depth_range'].items():
            if d['min_m'] is None:
                lines.append(f'  {m} range: no valid pixels')
            else:
                lines.append(f"  {m} range: {d['min_m']:.3f} .. {d['max_m']:.3f} m (zero pixels "
                             f"{100 * d['zero_fraction']:.1f}%)")
        for split, h in s['class_histogram'].items():
            total = sum(h.values()) or 1
            lines.append(f'  class histogram [{split}] (pixels, %):')
            for c, v in h.items():
                lines.append(f'    {c:<20s} {v:>12d} {100 * v / total:6.2f}')
    return '\n'.join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description='Check a crossmodal dataset root; exit 1 if any problem is found.')
    p.add_argument('root', help='dataset root (with meta.json)')
    p.add_argument('--json', action='store_true', help='print the report as JSON')
    a = p.parse_args(argv)
    report = check_dataset(a.root)
    print(json.dumps(report, indent=2) if a.json else format_report(report))
    return 0 if report['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())
