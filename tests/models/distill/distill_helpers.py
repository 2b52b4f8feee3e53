"""Tiny student/teacher configs and raw batches shared by the distillation tests (thin wrappers of
tests/fixtures.py under the names these tests call)."""

import fixtures
from fixtures import MEAN, STD  # noqa: F401


def mit(embed=8, in_channels=3, cls='MixVisionTransformer'):
    return fixtures.mit(cls=cls, in_channels=in_channels, embed=embed)


def head(num_classes=4, embed=8):
    return fixtures.seg_head(num_classes, embed)


def student_cfg(num_classes=4, size=(32, 40)):
    return fixtures.student_cfg(num_classes, size=size)


def teacher_cfg(
    num_classes=4,
    modalities=('rgb', 'thermal'),
    rgb_mean=(0.0, 0.0, 0.0),
    rgb_std=(255.0, 255.0, 255.0),
):
    """Teacher with a normalisation deliberately different from the student's (RGB / 255)."""
    return fixtures.teacher_cfg(
        modalities,
        mean=dict(rgb=list(rgb_mean), thermal=[100.0], depth=[5.0]),
        std=dict(rgb=list(rgb_std), thermal=[40.0], depth=[2.0]),
        num_classes=num_classes,
    )


def make_batch(n=2, sizes=None, with_label=True, seed=0, modalities=('rgb', 'thermal')):
    """Raw packed batch as the dataloader yields it: list of per-sample dicts + data samples."""
    return fixtures.raw_batch(
        n,
        (32, 40),
        modalities,
        num_classes=4,
        seed=seed,
        sizes=sizes,
        with_label=with_label,
        scale=dict(thermal=250.0, depth=250.0),
    )
