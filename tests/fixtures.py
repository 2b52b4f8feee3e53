"""The one place for the tiny models and batches of the test suite.

``tests/conftest.py`` puts ``tests/`` on ``sys.path``, so every test (and helper module) imports it
as ``from fixtures import ...``. The per-method helper modules (``distill_helpers``,
``mst_helpers``, ``crodino_helpers``, ``fskd_helpers``, ``rtfdnet/common``, ``deploy_helpers``)
re-export these under the names their tests call.

A tiny MiT: ``embed_dims`` 8, one block per stage, MLP ratio 2; stage ``i`` has
``embed * num_heads[i]`` channels (:func:`stage_channels`). Three head layouts are in use:
``HEADS_5`` (1, 2, 5, 8) -> 8/16/40/64 channels, ``HEADS_4`` (1, 2, 4, 8) -> 8/16/32/64 and
``HEADS_2`` (1, 2, 2, 4) -> 8/16/16/32 (the cheapest).
"""

import copy

import torch

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]
DEPTH_MEAN, DEPTH_STD = [6.0], [3.0]
THERMAL_MEAN, THERMAL_STD = [100.0], [40.0]

HEADS_5 = (1, 2, 5, 8)
HEADS_4 = (1, 2, 4, 8)
HEADS_2 = (1, 2, 2, 4)

#: ``model = ...`` override that shrinks a shipped synthetic config (mit-t) to the tiny MiT.
TINY_CONFIG_MODEL = dict(
    backbone=dict(embed_dims=8, num_heads=list(HEADS_2)),
    decode_head=dict(in_channels=[8, 16, 16, 32], channels=16),
)

_DROP = dict(drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.0)


def stage_channels(embed=8, num_heads=HEADS_5):
    """Channels of each MiT stage (what the decode head's ``in_channels`` must list)."""
    return [embed * h for h in num_heads]


def mit(
    cls='MixVisionTransformer',
    in_channels=3,
    embed=8,
    num_heads=HEADS_5,
    num_layers=(1, 1, 1, 1),
    drop=True,
    **kw,
):
    """A tiny 4-stage MiT backbone config. ``cls`` None / ``in_channels`` None leave those keys out
    (for ``dict(mit(...), type=..., in_channels=...)``); ``drop=False`` leaves out the (zero) drop
    rates; ``kw`` overrides or adds keys."""
    cfg = dict(
        type=cls,
        in_channels=in_channels,
        embed_dims=embed,
        num_stages=4,
        num_layers=list(num_layers),
        num_heads=list(num_heads),
        patch_sizes=[7, 3, 3, 3],
        sr_ratios=[8, 4, 2, 1],
        out_indices=(0, 1, 2, 3),
        mlp_ratio=2,
        qkv_bias=True,
        **(_DROP if drop else {}),
    )
    if cls is None:
        del cfg['type']
    if in_channels is None:
        del cfg['in_channels']
    cfg.update(kw)
    return cfg


def ce_loss(avg_non_ignore=True, **kw):
    loss = dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)
    if avg_non_ignore:
        loss['avg_non_ignore'] = True
    loss.update(kw)
    return loss


def seg_head(
    num_classes=4,
    embed=8,
    num_heads=HEADS_5,
    channels=16,
    dropout_ratio=0.0,
    loss_decode=None,
    **kw,
):
    """A SegformerHead on :func:`mit`'s four stages (``loss_decode`` default: :func:`ce_loss`)."""
    cfg = dict(
        type='SegformerHead',
        in_channels=stage_channels(embed, num_heads),
        in_index=[0, 1, 2, 3],
        channels=channels,
        dropout_ratio=dropout_ratio,
        num_classes=num_classes,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        loss_decode=loss_decode if loss_decode is not None else ce_loss(),
    )
    cfg.update(kw)
    return cfg


def seg_preprocessor(mean=MEAN, std=STD, size=(32, 40), size_divisor=None):
    cfg = dict(
        type='SegDataPreProcessor',
        mean=list(mean),
        std=list(std),
        bgr_to_rgb=False,
        pad_val=0,
        seg_pad_val=255,
    )
    if size is not None:
        cfg['size'] = tuple(size)
    if size_divisor is not None:
        cfg['size_divisor'] = size_divisor
    return cfg


def student_cfg(
    num_classes=4,
    in_channels=3,
    mean=MEAN,
    std=STD,
    size=(32, 40),
    size_divisor=None,
    num_heads=HEADS_5,
    embed=8,
    head=None,
    backbone=None,
):
    """A stock mmseg SegFormer student (EncoderDecoder: MixVisionTransformer + SegformerHead)."""
    return dict(
        type='EncoderDecoder',
        data_preprocessor=seg_preprocessor(mean, std, size, size_divisor),
        backbone=backbone or mit(in_channels=in_channels, embed=embed, num_heads=num_heads),
        decode_head=head or seg_head(num_classes, embed, num_heads),
        train_cfg=dict(),
        test_cfg=dict(mode='whole'),
    )


def teacher_cfg(
    modalities=('rgb', 'thermal'),
    mean=None,
    std=None,
    num_classes=4,
    num_heads=HEADS_5,
    embed=8,
    fusion=None,
    size=None,
    head=None,
):
    """A multimodal SFF SegFormer teacher (MultiModalEncoderDecoder with a shared crossmodal MiT).
    ``mean`` / ``std``: per-modality dicts (default: ImageNet RGB, thermal 100/40, depth 6/3)."""
    mean = mean or dict(rgb=MEAN, thermal=THERMAL_MEAN, depth=DEPTH_MEAN)
    std = std or dict(rgb=STD, thermal=THERMAL_STD, depth=DEPTH_STD)
    pre = dict(
        type='MultiModalDataPreprocessor',
        mean={m: list(mean[m]) for m in modalities},
        std={m: list(std[m]) for m in modalities},
    )
    if size is not None:
        pre['size'] = tuple(size)
    return dict(
        type='MultiModalEncoderDecoder',
        modalities=tuple(modalities),
        data_preprocessor=pre,
        backbone=mit(cls='MiT', embed=embed, num_heads=num_heads),
        fusion=fusion or dict(type='SFF', reduction=4, spatial_attn=True),
        decode_head=head or seg_head(num_classes, embed, num_heads),
        train_cfg=dict(),
        test_cfg=dict(mode='whole'),
    )


def build(cfg, seed=None):
    """``MODELS.build(cfg)`` in the mmseg scope (seeded first when ``seed`` is given)."""
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS

    if seed is not None:
        torch.manual_seed(seed)
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(copy.deepcopy(cfg))


# ------------------------------------------------------------------------------------- batches
#: Value range of a random non-RGB modality in :func:`raw_batch`
#: (thermal grey levels, depth metres).
MODALITY_SCALE = dict(thermal=250.0, depth=10.0, lidar=5.0)


def sample(h, w, label=None, **meta):
    """A SegDataSample of an (h, w) frame (``label``: an (1, h, w) tensor or None)."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    s = SegDataSample()
    if label is not None:
        s.gt_sem_seg = PixelData(data=label)
    s.set_metainfo(dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w), **meta))
    return s


def raw_batch(
    n=2,
    size=(32, 40),
    modalities=('rgb', 'thermal'),
    num_classes=4,
    void_rows=0,
    seed=0,
    sizes=None,
    with_label=True,
    scale=None,
    padding_size=False,
):
    """A packed batch as the dataloader yields it: ``inputs`` a list of per-sample dicts (RGB uint8,
    other modalities float in ``[0, MODALITY_SCALE)``), ``data_samples`` with random labels whose
    first ``void_rows`` rows are 255. Drawn per sample: the modalities in order, then the label."""
    g = torch.Generator().manual_seed(seed)
    scale = dict(MODALITY_SCALE, **(scale or {}))
    sizes = sizes or [tuple(size)] * n
    inputs, samples = [], []
    for h, w in sizes:
        item = {}
        for m in modalities:
            if m == 'rgb':
                item[m] = torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8)
            else:
                item[m] = torch.rand(1, h, w, generator=g) * scale[m]
        inputs.append(item)
        label = None
        if with_label:
            label = torch.randint(0, num_classes, (1, h, w), generator=g)
            if void_rows:
                label[:, :void_rows] = 255
        samples.append(
            sample(h, w, label, **(dict(padding_size=[0, 0, 0, 0]) if padding_size else {}))
        )
    return dict(inputs=inputs, data_samples=samples)
