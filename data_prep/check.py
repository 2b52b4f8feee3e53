"""Dataset checker for the crossmodal layout (docs/design.md §3); CLI:
``tools/check_dataset.py <root> [--json]``.

One pass over every stem of every split of the dataset; every problem found is reported (nothing
stops at the first one). The rules are those of :mod:`crossmodal.datasets.validation`, the module
the loader (``LoadMultiModalFromFile``) and ``RGBXSegDataset`` use, so a dataset this checker passes
loads, and a file the loader refuses is reported here. Problem kinds:

- ``meta_invalid``        meta.json missing/unparsable or a required field missing or inconsistent
                          (:func:`crossmodal.datasets.contract.load_meta`, the loader's own check)
- ``missing_split_file``  a split file named in meta.json does not exist (or, without ``splits``, no
                          conventional split file train/val/test/trainval/unlabelled.txt exists)
- ``empty_split``         a split file lists no stem
- ``duplicate_stem``      a stem listed twice in one split file
- ``pair_split_mismatch`` ``<split>_pairs.txt`` does not list the same stems as ``<split>.txt``
- ``missing_file``        a stem's file is missing for a modality or the label (a stem without any
                          files gives one per modality); stems listed only in ``unlabelled_splits``
                          need no label
- ``unreadable``          a file exists but cannot be decoded (truncated JPEG/PNG included)
- ``wrong_dtype``         stored dtype/bit depth differs from meta.json (label: uint8)
- ``wrong_channels``      channel count differs from meta.json (label: 1; a palette PNG's indices
                          count)
- ``nonfinite``           NaN/inf pixels in a float input (count reported), inf in a regression
                          target
- ``size_mismatch``       a modality's HxW differs from the label's (from rgb's without a label)
- ``label_out_of_range``  stored label values that are neither a class
                          (``0 <= v + label_offset < C``) nor void (``v + label_offset < 0``,
                          ``v == 255`` or the ignore index)
- ``empty_depth``         a depth-like modality (one with a ``unit``) that is all zero (checker
                          only)

Regression targets declared under ``targets`` are checked for presence, dtype (float32 unless
declared) and size like modalities.

Summary: stems per split, class histogram per split (pixels per class name + void), value range per
depth-like modality in its own stored units (meta.json ``unit``, over finite non-zero pixels;
fraction of zero pixels, count of non-finite ones), the same in metres for length units
(``depth_range``), image sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from typing import Any, Dict, List, Mapping

import numpy as np

if __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from crossmodal.datasets.contract import (
    LENGTH_UNITS,
    DatasetMetaError,
    file_specs,  # noqa: E402,F401
    label_void_and_class,
    load_meta,
    split_files,
    unlabelled_splits,
)
from crossmodal.datasets.validation import (
    Problems,
    check_array,
    check_label_values,  # noqa: E402
    check_sizes,
    read_array,
    read_split,
)


def _check_pairs(
    root: str, meta: Dict, file_stems: Dict[str, List[str]], problems: Problems
) -> None:
    """meta 'pair_split_files' maps a stems file (train.txt) to its pairs file (train_pairs.txt)."""
    for stems_file, fname in (meta.get('pair_split_files') or {}).items():
        path = os.path.join(root, fname)
        if stems_file not in file_stems:
            continue
        split = stems_file
        if not os.path.isfile(path):
            problems.add(
                'missing_split_file',
                f'{path}: pair-style split file not found',
                split=split,
                path=path,
            )
            continue
        with open(path) as f:
            firsts = [ln.split()[0] for ln in f if ln.strip()]
        stems = [os.path.splitext(p.split('/', 1)[-1])[0] for p in firsts]
        if stems != file_stems[stems_file]:
            problems.add(
                'pair_split_mismatch',
                f'{path}: lists {len(stems)} stems that differ from {stems_file}',
                split=split,
                path=path,
            )


def _ranged(specs: Mapping[str, tuple]) -> List[str]:
    return [
        m
        for m, (role, s) in specs.items()
        if role == 'modality' and m != 'rgb' and 'unit' in s and int(s.get('channels', 1)) == 1
    ]


def check_dataset(root: str) -> Dict[str, Any]:
    """Check the dataset at ``root``; returns
    ``{'root', 'ok', 'problems': [...], 'summary': {...}}``."""
    problems = Problems()
    summary: Dict[str, Any] = {}
    try:
        meta = load_meta(root)
    except DatasetMetaError as e:
        path = os.path.join(root, 'meta.json')
        problems.add('meta_invalid', str(e), path=path)
        return {'root': root, 'ok': False, 'problems': problems.items, 'summary': summary}
    classes, offset = meta['classes'], int(meta['label_offset'])
    n_cls, ignore = len(classes), int(meta['ignore_index'])
    train_ids, is_void, is_class = label_void_and_class(offset, n_cls, ignore)

    splits = split_files(meta, root)
    if not splits:
        problems.add(
            'missing_split_file',
            f'{root}: meta.json lists no "splits" and none of the conventional '
            f'split files (train.txt, val.txt, test.txt, ...) exists',
            path=root,
        )
    split_stems: Dict[str, List[str]] = {}
    file_stems: Dict[str, List[str]] = {}
    for split, fname in splits.items():
        stems = read_split(os.path.join(root, fname), problems, split)
        if stems is not None:
            split_stems[split] = file_stems[fname] = stems
    _check_pairs(root, meta, file_stems, problems)

    unlabelled = set(unlabelled_splits(meta))
    labelled_stems = {s for sp, stems in split_stems.items() if sp not in unlabelled for s in stems}
    all_specs = file_specs(meta)
    ranged = _ranged(all_specs)
    per_stem_hist: Dict[str, np.ndarray] = {}
    stats = {
        m: {'min': np.inf, 'max': -np.inf, 'zero': 0, 'pixels': 0, 'nonfinite': 0} for m in ranged
    }
    sizes: Counter = Counter()
    all_stems = list(dict.fromkeys(s for stems in split_stems.values() for s in stems))
    for stem in all_stems:
        shapes = {}
        for name, (role, spec) in all_specs.items():
            if role == 'label' and stem not in labelled_stems:
                continue
            path = os.path.join(root, spec['folder'], stem + spec['ext'])
            arr = read_array(path, problems, role, name, stem)
            if arr is None:
                continue
            shapes[name] = (path, arr.shape[:2])
            fmt_ok = check_array(arr, spec, path, problems, role, name, stem)
            if role == 'label':
                if fmt_ok:
                    per_stem_hist[stem] = check_label_values(
                        arr, path, problems, offset, n_cls, ignore, stem
                    )
            elif name in stats and arr.ndim == 2:
                st = stats[name]
                finite = np.isfinite(arr) if arr.dtype.kind == 'f' else np.ones(arr.shape, bool)
                nz = arr[finite & (arr > 0)]
                st['pixels'] += arr.size
                st['nonfinite'] += int(arr.size - finite.sum())
                st['zero'] += int((arr == 0).sum())
                if nz.size == 0:
                    problems.add(
                        'empty_depth',
                        f'{path}: {name} is all zero / no valid pixel',
                        stem=stem,
                        modality=name,
                        path=path,
                    )
                else:
                    st['min'] = min(st['min'], float(nz.min()))
                    st['max'] = max(st['max'], float(nz.max()))
        check_sizes(shapes, problems, stem)
        ref = shapes.get('label') or shapes.get('rgb')
        if ref is not None:
            sizes[f'{ref[1][0]}x{ref[1][1]}'] += 1

    hist = {}
    for split, stems in split_stems.items():
        if split in unlabelled:
            continue
        tot = np.zeros(256, np.int64)
        for s in stems:
            if s in per_stem_hist:
                tot += per_stem_hist[s]
        h = {c: int(tot[is_class & (train_ids == i)].sum()) for i, c in enumerate(classes)}
        h['<void>'] = int(tot[is_void].sum())
        h['<out_of_range>'] = int(tot[~is_void & ~is_class].sum())
        hist[split] = h
    value_range, depth_range = {}, {}
    for m, st in stats.items():
        spec = all_specs[m][1]
        unit = spec.get('unit')
        found = bool(np.isfinite(st['min']))
        value_range[m] = {
            'min': st['min'] if found else None,
            'max': st['max'] if found else None,
            'unit': unit,
            'scale': spec.get('scale'),
            'zero_fraction': st['zero'] / st['pixels'] if st['pixels'] else None,
            'nonfinite_pixels': st['nonfinite'],
        }
        if unit in LENGTH_UNITS:
            to_m = float(spec.get('scale', LENGTH_UNITS[unit]))
            depth_range[m] = {
                'min_m': st['min'] * to_m if found else None,
                'max_m': st['max'] * to_m if found else None,
                'zero_fraction': value_range[m]['zero_fraction']
                if found or not st['pixels']
                else 1.0,
            }
    summary = {
        'name': meta.get('name'),
        'counts': {s: len(v) for s, v in split_stems.items()},
        'unlabelled_splits': sorted(unlabelled),
        'unique_stems': len(all_stems),
        'class_histogram': hist,
        'value_range': value_range,
        'depth_range': depth_range,
        'image_sizes': dict(sizes.most_common(10)),
        'problem_counts': dict(Counter(p['kind'] for p in problems.items)),
    }
    return {'root': root, 'ok': not problems.items, 'problems': problems.items, 'summary': summary}


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
        lines.append(
            '  image sizes (HxW: count): '
            + ', '.join(f'{k}: {v}' for k, v in s['image_sizes'].items())
        )
        for m, d in s.get('value_range', {}).items():
            unit = d['unit'] or '(unit not declared in meta.json)'
            if d['min'] is None:
                line = f'  {m} range: no valid pixels'
            else:
                line = f"  {m} range: {d['min']:g} .. {d['max']:g} {unit}"
                dm = s.get('depth_range', {}).get(m)
                if dm and dm['min_m'] is not None and unit != 'm':
                    line += f" = {dm['min_m']:.3f} .. {dm['max_m']:.3f} m"
                line += f" (zero pixels {100 * d['zero_fraction']:.1f}%"
                line += (
                    f", non-finite pixels {d['nonfinite_pixels']})"
                    if d['nonfinite_pixels']
                    else ')'
                )
            lines.append(line)
        for split, h in s['class_histogram'].items():
            total = sum(h.values()) or 1
            lines.append(f'  class histogram [{split}] (pixels, %):')
            for c, v in h.items():
                lines.append(f'    {c:<20s} {v:>12d} {100 * v / total:6.2f}')
    return '\n'.join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description='Check a crossmodal dataset root; exit 1 if any problem is found.'
    )
    p.add_argument('root', help='dataset root (with meta.json)')
    p.add_argument('--json', action='store_true', help='print the report as JSON')
    a = p.parse_args(argv)
    report = check_dataset(a.root)
    print(json.dumps(report, indent=2) if a.json else format_report(report))
    return 0 if report['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())
