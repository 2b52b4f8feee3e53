"""End-to-end: tools/train.py distillation run, student export to plain mmseg, GKD two stages.

Tiny everything: 16 synthetic RGB-T frames of 64x80, tiny MiTs, 3-4 iterations, a random-init
teacher checkpoint written by the test.
"""

import glob
import os
import os.path as osp
import sys

import pytest
import torch
from fixtures import mit, seg_head

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools'))

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


def _mit(cls):
    return mit(cls)


def _head():
    return seg_head(num_classes=4)


STUDENT = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=MEAN,
        std=STD,
        bgr_to_rgb=False,
        pad_val=0,
        seg_pad_val=255,
        size=(64, 80),
    ),
    backbone=_mit('MixVisionTransformer'),
    decode_head=_head(),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'),
)
TEACHER = dict(
    type='MultiModalEncoderDecoder',
    modalities=('rgb', 'thermal'),
    data_preprocessor=dict(
        type='MultiModalDataPreprocessor',
        mean=dict(rgb=MEAN, thermal=[100.0]),
        std=dict(rgb=STD, thermal=[40.0]),
    ),
    backbone=_mit('MiT'),
    fusion=dict(type='SFF', reduction=4, spatial_attn=True),
    decode_head=_head(),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'),
)


def _write_cfg(
    path,
    data_root,
    model,
    iters,
    train_with_label=True,
    modalities=('rgb', 'thermal'),
    hooks=("dict(type='TeacherEvalHook')",),
):
    base = [
        osp.join(ROOT, 'configs/_base_', p)
        for p in ('datasets/synthetic_rgbt.py', 'default_runtime.py', 'schedules/schedule_tiny.py')
    ]
    text = f"""
_base_ = {base!r}
data_root = {data_root!r}
pipe = [dict(type='LoadMultiModalFromFile'),
        dict(type='JointGeometricAug', transforms=[dict(type='HorizontalFlip', p=0.5)]),
        dict(type='PackMultiModalInputs')]
test_pipe = [dict(type='LoadMultiModalFromFile'), dict(type='PackMultiModalInputs')]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, modalities={modalities!r}, with_label={train_with_label!r},
                 pipeline=pipe))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, modalities={modalities!r}, pipeline=test_pipe))
test_dataloader = val_dataloader
model = {model!r}
train_cfg = dict(max_iters={iters}, val_interval={iters})
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end={iters})]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval={iters}),
                     visualization=dict(type='SegVisualizationHook', draw=False))
custom_hooks = [dict(type='RNGStateHook'), {', '.join(hooks)}]
"""
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory):
    from data_prep.synthetic import generate

    root = tmp_path_factory.mktemp('data') / 'synthetic_rgbt'
    generate(str(root), 'rgbt', num=16, height=64, width=80, progress=False)
    return str(root)


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory):
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS

    with DefaultScope.overwrite_default_scope('mmseg'):
        teacher = MODELS.build(TEACHER)
    path = tmp_path_factory.mktemp('teacher') / 'iter_0.pth'
    torch.save({'state_dict': teacher.state_dict(), 'meta': {}}, str(path))
    return str(path)


def _log_text(work_dir):
    logs = glob.glob(osp.join(work_dir, '*', '*.log'))
    assert logs, f'no log in {work_dir}'
    return open(sorted(logs)[-1]).read()


def test_train_distill_then_export_to_plain_mmseg(tmp_path, tiny_data, teacher_ckpt):
    import train as train_tool

    from crossmodal.models.distill.export import export_student

    model = dict(
        type='DistillSegmentor',
        student=STUDENT,
        student_modalities=('rgb',),
        teachers=dict(
            rgbt=dict(config=TEACHER, checkpoint=teacher_ckpt, modalities=('rgb', 'thermal'))
        ),
        distill_losses=[
            dict(
                type='KDLoss',
                tau=2.0,
                student='logits',
                teacher='rgbt.logits',
                schedule=dict(kind='linear_warmup', warmup_iters=2),
            )
        ],
    )
    cfg = _write_cfg(tmp_path / 'kd.py', tiny_data, model, iters=3)
    work = str(tmp_path / 'work')
    runner = train_tool.main([cfg, '--work-dir', work])
    log = _log_text(work)
    assert 'teacher.rgbt.mIoU' in log
    assert 'distill.loss_kd' in log and 'student.decode.loss_ce' in log
    ckpt = osp.join(work, 'iter_3.pth')
    assert osp.isfile(ckpt)

    # export and reload with plain mmseg
    out = export_student(
        cfg,
        ckpt,
        str(tmp_path / 'export' / 'student.pth'),
        str(tmp_path / 'export' / 'student_config.py'),
    )
    sd = torch.load(out['checkpoint'], weights_only=True)['state_dict']
    assert sd and not any(
        k.startswith(('student.', 'teachers.', 'distill_losses.', 'connectors.')) for k in sd
    )
    from mmseg.apis import inference_model, init_model

    plain = init_model(out['config'], out['checkpoint'], device='cpu')
    assert type(plain).__name__ == 'EncoderDecoder'
    assert plain.dataset_meta['classes'][:2] == ['background', 'person']

    # in-tool prediction of the trained distiller on a test frame vs plain mmseg on the file
    distiller = runner.model
    distiller.eval()
    dataset = runner.val_dataloader.dataset
    from mmengine.dataset import pseudo_collate

    item = dataset[0]
    ours = distiller.val_step(pseudo_collate([item]))[0]
    img_path = item['data_samples'].img_path
    theirs = inference_model(plain, img_path)
    torch.testing.assert_close(theirs.seg_logits.data, ours.seg_logits.data, rtol=1e-4, atol=1e-4)
    assert torch.equal(theirs.pred_sem_seg.data, ours.pred_sem_seg.data)


def test_export_cli_and_train_stages_gkd(tmp_path, tiny_data, teacher_ckpt):
    import export_student as export_tool
    import train_stages

    stage1 = dict(
        type='DistillSegmentor',
        student=STUDENT,
        student_modalities=('rgb',),
        with_label=False,
        teachers=dict(
            rgbt=dict(
                config=TEACHER,
                checkpoint=teacher_ckpt,
                modalities=('rgb', 'thermal'),
                taps=dict(s4='fusions.3'),
            )
        ),
        student_taps=dict(s4='backbone[3]'),
        distill_losses=[
            dict(
                type='GKDFeatureLoss',
                student_dims=64,
                teacher_dims=64,
                student='s4',
                teacher='rgbt.s4',
                name='loss_gkd',
                masker=dict(patch_size=32),
            )
        ],
    )
    stage2 = dict(
        type='DistillSegmentor',
        student=STUDENT,
        student_modalities=('rgb',),
        teachers={},
        freeze=['backbone'],
    )
    _write_cfg(tmp_path / 's1.py', tiny_data, stage1, iters=2, train_with_label=False)
    _write_cfg(tmp_path / 's2.py', tiny_data, stage2, iters=2, modalities=('rgb',), hooks=())
    recipe = tmp_path / 'gkd.py'
    recipe.write_text(
        "stages = [dict(name='stage1', config='s1.py'),\n"
        "          dict(name='stage2', config='s2.py', load_from='stage1')]\n"
    )
    root = str(tmp_path / 'gkd')
    summary = train_stages.main([str(recipe), '--work-dir', root])
    assert 'distill.loss_gkd.loss_mask' in _log_text(osp.join(root, 'stage1'))
    from crossmodal.compat import load_checkpoint_file

    s1 = load_checkpoint_file(summary['stage1']['checkpoint'])['state_dict']
    s2 = load_checkpoint_file(summary['stage2']['checkpoint'])['state_dict']
    assert not any(k.startswith('teachers.') for k in s2)
    for k, v in s2.items():  # frozen encoder = stage-1 encoder; head trained further
        if k.startswith('student.backbone.'):
            assert torch.equal(v, s1[k]), k
    head = 'student.decode_head.conv_seg.weight'
    assert not torch.equal(s1[head], s2[head])

    info = export_tool.main(
        [
            str(tmp_path / 's2.py'),
            summary['stage2']['checkpoint'],
            '--out',
            str(tmp_path / 'exported'),
        ]
    )
    assert os.path.isfile(info['checkpoint']) and os.path.isfile(info['config'])
    exported = torch.load(info['checkpoint'], weights_only=True)['state_dict']
    assert info['state_dict_numel'] == sum(
        v.numel() for k, v in exported.items() if 'num_batches_tracked' not in k
    )
    assert all(torch.equal(v, s2['student.' + k]) for k, v in exported.items())


def test_run_distill_demo_row(tmp_path, tiny_data):
    """The demo entry point returns a row in tools/demo.py's format (2 iterations on tiny data)."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS

    from crossmodal.apis.demo import DEMO_CONFIG, run_distill_demo

    teacher_cfg = Config.fromfile(
        Config.fromfile(DEMO_CONFIG.format(variant='rgbt')).model.teachers.rgbt.config
    )
    student_cfg = Config.fromfile(Config.fromfile(DEMO_CONFIG.format(variant='rgbt')).model.student)
    with DefaultScope.overwrite_default_scope('mmseg'):
        teacher = MODELS.build(teacher_cfg.model)
        student_params = sum(p.numel() for p in MODELS.build(student_cfg.model).parameters())
    ckpt = str(tmp_path / 'teacher.pth')
    torch.save({'state_dict': teacher.state_dict()}, ckpt)
    row = run_distill_demo(str(tmp_path / 'demo'), ckpt, seed=0, iters=2, data_root=tiny_data)
    assert row['name'] == 'distilled' and row['modalities'] == ['rgb']
    assert 0.0 <= row['mIoU'] <= 100.0 and row['metrics']['mIoU'] == row['mIoU']
    assert 'IoU.person' in row['metrics'] and row['teacher_mIoU'] is not None
    assert row['num_params'] == row['params'] == student_params  # the student only
    assert osp.isfile(row['checkpoint'])
