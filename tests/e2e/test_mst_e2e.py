"""End-to-end MST-Distill: the three stages with tools/train_stages.py on tiny RGB-D data (2 it
each), what each stage starts from / changes, student export loaded by plain mmseg."""

import glob
import os.path as osp
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools'))
sys.path.insert(0, osp.join(ROOT, 'tests', 'models', 'methods', 'mst'))

from mst_helpers import build, depth_teacher_cfg, mst_cfg, rgbd_teacher_cfg, student_cfg  # noqa: E402

SIZE = (64, 80)


@pytest.fixture(scope='module')
def tiny_rgbd(tmp_path_factory):
    from data_prep.synthetic import generate

    root = tmp_path_factory.mktemp('data') / 'synthetic_rgbd'
    generate(str(root), 'rgbd', num=16, height=SIZE[0], width=SIZE[1], progress=False)
    return str(root)


@pytest.fixture(scope='module')
def teacher_ckpts(tmp_path_factory):
    out = {}
    d = tmp_path_factory.mktemp('teachers')
    for name, cfg in (('rgbd', rgbd_teacher_cfg()), ('depth', depth_teacher_cfg(SIZE))):
        torch.manual_seed(1)
        path = str(d / f'{name}.pth')
        torch.save({'state_dict': build(cfg).state_dict(), 'meta': {}}, path)
        out[name] = path
    return out


def write_stage(path, data_root, model, iters=2):
    base = [
        osp.join(ROOT, 'configs/_base_', p)
        for p in ('datasets/synthetic_rgbd.py', 'default_runtime.py', 'schedules/schedule_tiny.py')
    ]
    text = f"""
_base_ = {base!r}
data_root = {data_root!r}
pipe = [dict(type='LoadMultiModalFromFile'),
        dict(type='JointGeometricAug', transforms=[dict(type='HorizontalFlip', p=0.5)]),
        dict(type='PackMultiModalInputs')]
test_pipe = [dict(type='LoadMultiModalFromFile'), dict(type='PackMultiModalInputs')]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=pipe))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipe))
test_dataloader = val_dataloader
model = {model!r}
train_cfg = dict(max_iters={iters}, val_interval={iters})
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end={iters})]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval={iters}),
                     visualization=dict(type='SegVisualizationHook', draw=False))
"""
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


def model_dict(stage, ckpts, **kw):
    cfg = mst_cfg(stage, ckpts['rgbd'], ckpts['depth'], **kw)
    cfg['student'] = student_cfg(SIZE)
    cfg['teachers']['depth']['config'] = depth_teacher_cfg(SIZE)
    return cfg


def split(sd, prefix):
    return {k: v for k, v in sd.items() if k.startswith(prefix)}


def test_three_stages_then_export(tmp_path, tiny_rgbd, teacher_ckpts):
    import export_student as export_tool
    import train_stages
    from mmseg.apis import inference_model, init_model

    from crossmodal.compat import load_checkpoint_file

    for i, stage in enumerate(('warmup', 'mask', 'route'), 1):
        write_stage(tmp_path / f's{i}.py', tiny_rgbd, model_dict(stage, teacher_ckpts))
    recipe = tmp_path / 'mst.py'
    recipe.write_text(
        "stages = [dict(name='stage1', config='s1.py'),\n"
        "          dict(name='stage2', config='s2.py', load_from='stage1', load_mode='all'),\n"
        "          dict(name='stage3', config='s3.py', load_from='stage2', load_mode='all')]\n"
    )
    root = str(tmp_path / 'mst')
    summary = train_stages.main([str(recipe), '--work-dir', root])
    sd = {
        k: load_checkpoint_file(summary[k]['checkpoint'])['state_dict']
        for k in ('stage1', 'stage2', 'stage3')
    }

    def same(a, b, prefix):
        pa, pb = split(a, prefix), split(b, prefix)
        assert pa.keys() == pb.keys() and pa
        return all(torch.equal(pa[k], pb[k]) for k in pa)

    # stage 1 trained the pre-trained teachers (mutual learning) and the student
    t0 = load_checkpoint_file(teacher_ckpts['rgbd'])['state_dict']
    assert any(not torch.equal(v, sd['stage1']['teachers.rgbd.' + k]) for k, v in t0.items())
    # stage 2 starts from stage 1: student and teachers unchanged, only the MaskNets trained
    assert same(sd['stage1'], sd['stage2'], 'student.')
    assert same(sd['stage1'], sd['stage2'], 'teachers.')
    assert same(sd['stage1'], sd['stage2'], 'gate.')
    assert not same(sd['stage1'], sd['stage2'], 'masknets.')
    # stage 3 starts from stage 2: teachers and MaskNets unchanged; student and GateNet trained
    assert same(sd['stage2'], sd['stage3'], 'teachers.')
    assert same(sd['stage2'], sd['stage3'], 'masknets.')
    assert not same(sd['stage2'], sd['stage3'], 'student.')
    assert not same(sd['stage2'], sd['stage3'], 'gate.')
    assert float(sd['stage3']['route_counts'].sum()) == 4  # 2 iterations x 2 images, top-1
    log3 = open(sorted(glob.glob(osp.join(root, 'stage3', '*', '*.log')))[-1]).read()
    assert 'mst.route_frac.rgbd_stage4' in log3 and 'mst.loss_route_kd' in log3
    log2 = open(sorted(glob.glob(osp.join(root, 'stage2', '*', '*.log')))[-1]).read()
    assert 'mst.loss_mask.depth_head' in log2

    # export the student: a stock mmseg SegFormer that plain mmseg loads
    info = export_tool.main(
        [
            str(tmp_path / 's3.py'),
            summary['stage3']['checkpoint'],
            '--out',
            str(tmp_path / 'export'),
        ]
    )
    exported = torch.load(info['checkpoint'], weights_only=True)['state_dict']
    assert all(torch.equal(v, sd['stage3']['student.' + k]) for k, v in exported.items())
    assert not any(k.startswith(('teachers.', 'masknets.', 'gate.')) for k in exported)
    plain = init_model(info['config'], info['checkpoint'], device='cpu')
    assert type(plain).__name__ == 'EncoderDecoder'
    img = sorted(glob.glob(osp.join(tiny_rgbd, 'RGB', '*')))[0]
    assert inference_model(plain, img).pred_sem_seg.data.shape[-2:] == SIZE

    # load_mode='all' refuses a next stage whose model does not match every weight
    write_stage(
        tmp_path / 'bad.py', tiny_rgbd, model_dict('mask', teacher_ckpts, hidden_dim_factor=1)
    )
    recipe.write_text(
        recipe.read_text().replace(
            "]\n",
            ",\n          dict(name='bad', config='bad.py', load_from='stage1', "
            "load_mode='all')]\n",
        )
    )
    with pytest.raises(ValueError, match='load_mode="all"'):
        train_stages.main([str(recipe), '--work-dir', root, '--stages', 'bad'])
