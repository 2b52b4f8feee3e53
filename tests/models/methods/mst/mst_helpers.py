"""Tiny MST-Distill models and batches (embed 8, 32x40 px) shared by the MST tests (the tiny
MiT / head / student / teachers come from tests/fixtures.py)."""

import copy

import fixtures
from fixtures import DEPTH_MEAN, DEPTH_STD, MEAN, STD, build  # noqa: F401


def mit(cls='MixVisionTransformer', in_channels=3, embed=8):
    return fixtures.mit(cls=cls, in_channels=in_channels, embed=embed)


def head(num_classes=4, embed=8):
    return fixtures.seg_head(num_classes, embed)


def student_cfg(size=(32, 40)):
    return fixtures.student_cfg(size=size)


def depth_teacher_cfg(size=(32, 40)):
    """Stock depth-only SegFormer (the cross-modal teacher A)."""
    return fixtures.student_cfg(in_channels=1, mean=DEPTH_MEAN, std=DEPTH_STD, size=size)


def rgbd_teacher_cfg():
    """RGB-D SFF SegFormer (the multimodal teacher T)."""
    return fixtures.teacher_cfg(('rgb', 'depth'))


MASK_LAYERS = dict(
    rgbd=dict(stage4='fusions.3', head='decode_head.fusion_conv'),
    depth=dict(stage4='backbone[3]', head='decode_head.fusion_conv'),
)
EXPERTS = ['rgbd_stage4', 'rgbd_head', 'depth_stage4', 'depth_head']


def mst_cfg(stage, rgbd_ckpt=None, depth_ckpt=None, **kw):
    cfg = dict(
        type='MSTDistillSegmentor',
        student=student_cfg(),
        stage=stage,
        teachers=dict(
            rgbd=dict(config=rgbd_teacher_cfg(), checkpoint=rgbd_ckpt, modalities=('rgb', 'depth')),
            depth=dict(config=depth_teacher_cfg(), checkpoint=depth_ckpt, modalities=('depth',)),
        ),
        mask_layers=copy.deepcopy(MASK_LAYERS),
        student_modalities=('rgb',),
    )
    cfg.update(kw)
    return cfg


def make_batch(n=2, size=(32, 40), seed=0, void=True):
    """Raw packed batch (rgb uint8, depth float metres, labels with a void strip)."""
    return fixtures.raw_batch(
        n, size, ('rgb', 'depth'), num_classes=4, void_rows=2 if void else 0, seed=seed
    )
