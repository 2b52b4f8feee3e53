#!/usr/bin/env python
"""Split a labelled split into a labelled subset and an unlabelled rest (the semi-supervised
protocol: labels for a fraction of the training stems, the other frames used without labels).

    python data_prep/label_subset.py data/synthetic_v3 --split train --fraction 0.25 [--seed 0]

writes ``<split>_l<P>.txt`` (a seeded random ``P`` % of the split's stems, in the split's order) and
``<split>_u<100-P>.txt`` (the rest) into the dataset root and registers both in meta.json: under
``splits``, and the second under ``unlabelled_splits``, so ``RGBXSegDataset(split='train_u75')``
never reads its label files (they exist on disk; the loader and ``tools/check_dataset.py`` treat
the split as unlabelled). Rerunning with the same arguments is a no-op; other arguments over an
existing subset are refused unless ``--force``. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Dict, List

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from crossmodal.datasets.contract import (  # noqa: E402
    DatasetFiles,
    file_specs,
    load_meta,
    split_files,
    unlabelled_splits,
)
from crossmodal.datasets.validation import Problems, read_split  # noqa: E402


class SubsetError(ValueError):
    """A subset that cannot be written (names the dataset and the problem)."""


def subset_names(split: str, fraction: float) -> Dict[str, str]:
    """``{'labelled': 'train_l25', 'unlabelled': 'train_u75'}`` for ``fraction`` 0.25."""
    pct = int(round(fraction * 100))
    return {'labelled': f'{split}_l{pct}', 'unlabelled': f'{split}_u{100 - pct}'}


def choose_labelled(stems: List[str], fraction: float, seed: int) -> List[bool]:
    """Seeded choice of ``round(fraction * N)`` stems (at least 1): one bool per stem."""
    n = max(1, int(round(fraction * len(stems))))
    order = np.random.default_rng(seed).permutation(len(stems))
    chosen = np.zeros(len(stems), bool)
    chosen[order[:n]] = True
    return chosen.tolist()


def write_label_subset(
    root: str, split: str = 'train', fraction: float = 0.25, seed: int = 0, force: bool = False
) -> Dict:
    """Write the labelled / unlabelled subset of ``split`` (module docstring); returns a summary
    ``{labelled, unlabelled, num_labelled, num_unlabelled, seed, changed}``."""
    if not 0 < fraction < 1:
        raise SubsetError(f'--fraction must be in (0, 1), got {fraction}')
    meta = load_meta(root)
    path = meta.pop('_path')
    splits = split_files(meta, root)
    if split not in splits:
        raise SubsetError(f'{path}: no split "{split}" (splits: {sorted(splits)})')
    if split in unlabelled_splits(meta):
        raise SubsetError(f'{path}: split "{split}" is unlabelled; take a subset of a labelled one')
    problems = Problems()
    stems = read_split(os.path.join(root, splits[split]), problems, split)
    if stems is None or problems.items:
        raise SubsetError('\n'.join(p['message'] for p in problems.items) or f'{split}: empty')
    if len(stems) < 2:
        raise SubsetError(f'{path}: split "{split}" has {len(stems)} stem(s); need at least 2')
    names = subset_names(split, fraction)
    chosen = choose_labelled(stems, fraction, seed)
    want = {
        names['labelled']: [s for s, c in zip(stems, chosen) if c],
        names['unlabelled']: [s for s, c in zip(stems, chosen) if not c],
    }
    record = dict(meta.get('label_subsets', {}))
    entry = dict(split=split, fraction=float(fraction), seed=int(seed), **names)
    existing = record.get(names['labelled'])
    if existing == entry and all(n in splits for n in want):
        current = {}
        for n in want:
            current[n] = read_split(os.path.join(root, splits[n]), Problems(), n)
        if current == want:
            return dict(entry, num_labelled=len(want[names['labelled']]),
                        num_unlabelled=len(want[names['unlabelled']]), changed=False)
    clash = [n for n in want if n in splits]
    if clash and not force:
        raise SubsetError(
            f'{path}: splits {clash} exist (written with {existing}); pass --force to replace them'
        )
    files = DatasetFiles(root, {k: spec for k, (_, spec) in file_specs(meta).items()})
    files.write_splits(want, pairs=False, unlabelled=(names['unlabelled'],))
    meta['splits'] = {**splits, **{n: f'{n}.txt' for n in want}}
    unl = [s for s in unlabelled_splits(meta) if s != names['labelled']]
    meta['unlabelled_splits'] = sorted(set(unl) | {names['unlabelled']})
    record[names['labelled']] = entry
    meta['label_subsets'] = record
    style = 'plain' if meta.get('generator') else 'compact'
    files.write_meta(meta, style=style)
    return dict(entry, num_labelled=len(want[names['labelled']]),
                num_unlabelled=len(want[names['unlabelled']]), changed=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('root', help='dataset root (holds meta.json)')
    p.add_argument('--split', default='train', help='labelled split to divide (default train)')
    p.add_argument('--fraction', type=float, default=0.25, help='labelled fraction (0.25)')
    p.add_argument('--seed', type=int, default=0, help='seed of the choice (0)')
    p.add_argument('--force', action='store_true', help='replace an existing subset')
    a = p.parse_args(argv)
    try:
        out = write_label_subset(a.root, a.split, a.fraction, a.seed, a.force)
    except (SubsetError, OSError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    print(json.dumps(out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
