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


ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
KD_CFG = osp.join(
    ROOT, 'configs', 'benchmark_v3', 'kd_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py'
)
KD_CACHED_CFG = osp.join(
    ROOT, 'configs', 'benchmark_v3', 'kd-cached_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py'
)
TEACHER_CFG = osp.join(
    ROOT, 'configs', 'teachers', 'rgbx-sff-segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py'
)


def tiny_v3(root):
    """The embedded benchmark v3 at 8 / 4 / 4 frames of 128 x 160."""
    from data_prep.synthetic_v3 import generate

    generate(str(root), splits={'train': 8, 'val': 4, 'test': 4}, progress=False)
    return str(root)


def teacher_checkpoint(path, seed=0):
    """A (random-weight) checkpoint of the v3 RGB-T teacher config, written like a trained one."""
    import crossmodal
    from crossmodal.models.distill.teachers import build_teacher
    from mmengine.registry import DefaultScope

    crossmodal.register_all_modules(init_default_scope=False)
    torch.manual_seed(seed)
    with DefaultScope.overwrite_default_scope('mmseg'):
        teacher, _ = build_teacher(TEACHER_CFG, None, 'rgbt', warn_random=False)
    torch.save({'state_dict': teacher.state_dict(), 'meta': {}}, str(path))
    return str(path)


def data_options(data_root, ckpt):
    """--cfg-options of the v3 configs on tiny data with a given teacher checkpoint."""
    return {
        'model.teachers.rgbt.checkpoint': ckpt,
        'train_dataloader.dataset.data_root': data_root,
        'val_dataloader.dataset.data_root': data_root,
        'test_dataloader.dataset.data_root': data_root,
    }


def kd_config(data_root, ckpt, path=KD_CFG, **extra):
    from mmengine.config import Config

    cfg = Config.fromfile(path)
    cfg.merge_from_dict(dict(data_options(data_root, ckpt), **extra))
    return cfg
