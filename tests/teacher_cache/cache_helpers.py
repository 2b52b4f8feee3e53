"""A hand-made teacher cache (manifest + sample files) for tests that need no teacher model."""

import os.path as osp

import numpy as np
import torch

from crossmodal.models.losses.sparse_targets import topk_sparse
from crossmodal.teacher_cache.manifest import FORMAT, FORMAT_VERSION, MANIFEST, write_json_atomic
from crossmodal.teacher_cache.store import index_dtype, sample_file, write_sample


def smooth_logits(num_classes, h, w, seed=0):
    """(K, h, w) float32 teacher logits that vary smoothly in space (class blobs), like a real
    teacher's, so that resampling them is meaningful."""
    g = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.zeros((num_classes, h, w), np.float32)
    for c in range(num_classes):
        cy, cx = g.uniform(0, h), g.uniform(0, w)
        r = g.uniform(0.2, 0.5) * max(h, w)
        out[c] = 4.0 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
        out[c] += 0.3 * g.standard_normal((h, w)).astype(np.float32)
    return out


def write_cache(root, dense, k, image_shape, taps=None, name='t', complete=True):
    """Write a cache of one teacher ``name``: ``dense`` = {stem: (K, h, w) float32 logits};
    ``taps`` = {stem: {tap: (C, h', w')}}. Returns the cache dir."""
    samples = {}
    num = None
    for stem, logits in dense.items():
        sp = topk_sparse(torch.from_numpy(logits)[None], k)
        num = sp.num_classes
        arrays = {
            f'{name}.values': sp.values[0].numpy().astype(np.float16),
            f'{name}.indices': sp.indices[0].numpy().astype(index_dtype(num)),
            f'{name}.tail': sp.tail[0].numpy().astype(np.float16),
            'shapes': np.array([*image_shape, *logits.shape[1:]], np.int32),
        }
        for tap, arr in ((taps or {}).get(stem) or {}).items():
            arrays[f'{name}.tap.{tap}'] = arr.astype(np.float16)
        write_sample(osp.join(root, sample_file(stem)), arrays)
        samples[stem] = dict(
            file=sample_file(stem),
            image_shape=list(image_shape),
            logits_shape=list(logits.shape[1:]),
        )
    first_taps = next(iter((taps or {}).values()), {}) or {}
    manifest = dict(
        format=FORMAT,
        format_version=FORMAT_VERSION,
        complete=complete,
        topk=k,
        split='train',
        dataset={},
        teachers={
            name: dict(
                num_classes=num,
                modalities=['rgb', 'thermal'],
                taps={tap: dict(path='x') for tap in first_taps},
            )
        },
        samples=samples,
    )
    write_json_atomic(osp.join(root, MANIFEST), manifest)
    return str(root)
