"""Tiny student / teacher / distiller configs on the generated RGB-T dataset, with saved (untrained)
checkpoints, for the tools' checkpoint-pairing tests. Nothing is trained."""

import os.path as osp

import torch

from fixtures import TINY_CONFIG_MODEL

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STUDENT = 'configs/students/segformer_mit-t_600it_synthetic-rgbt-128x160.py'
TEACHER = 'configs/teachers/rgbx-sff-segformer_mit-t_600it_synthetic-rgbt-128x160.py'
DISTILL = 'configs/distill/kd/kd_segformer_mit-t_600it_synthetic-rgbt-128x160.py'
TINY = TINY_CONFIG_MODEL


def _common(root):
    loader = dict(
        batch_size=2, num_workers=0, persistent_workers=False, dataset=dict(data_root=root)
    )
    return (
        f"test_dataloader = {loader!r}\n"
        "default_hooks = dict(visualization=dict(type='SegVisualizationHook', draw=False))\n"
    )


def _build_and_save(cfg_path, ckpt_path, seed=0):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    init_default_scope('mmseg')
    torch.manual_seed(seed)
    model = MODELS.build(Config.fromfile(cfg_path).model)
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt_path)
    return model


def make_tiny_models(d, root):
    """Write tiny student, teacher and distiller (KD, teacher = the tiny teacher) configs and a
    checkpoint of each under ``d``. Returns ``{kind: (config, checkpoint)}`` plus
    ``'distilled_student'``: the distiller's student weights as a plain student checkpoint."""
    d = str(d)
    out = {}
    for kind, base in (('student', STUDENT), ('teacher', TEACHER)):
        cfg = osp.join(d, f'{kind}.py')
        with open(cfg, 'w') as f:
            f.write(f"_base_ = ['{osp.join(ROOT, base)}']\nmodel = {TINY!r}\n" + _common(root))
        ckpt = osp.join(d, f'{kind}.pth')
        _build_and_save(cfg, ckpt)
        out[kind] = (cfg, ckpt)
    cfg = osp.join(d, 'distill.py')
    model = dict(
        student=out['student'][0],
        teachers=dict(rgbt=dict(config=out['teacher'][0], checkpoint=out['teacher'][1])),
    )
    with open(cfg, 'w') as f:
        f.write(f"_base_ = ['{osp.join(ROOT, DISTILL)}']\nmodel = {model!r}\n" + _common(root))
    ckpt = osp.join(d, 'distill.pth')
    distiller = _build_and_save(cfg, ckpt, seed=1)  # a student different from student.pth's
    out['distill'] = (cfg, ckpt)
    plain = osp.join(d, 'distilled_student.pth')
    torch.save(dict(state_dict=distiller.student.state_dict(), meta={}), plain)
    out['distilled_student'] = (out['student'][0], plain)
    return out
