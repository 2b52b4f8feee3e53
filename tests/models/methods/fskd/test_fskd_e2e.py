"""End to end: tools/train.py + tools/test.py on a tiny synthetic forest (teacher, then distilled
student): test_results.json with the regression metrics, scatter plots and error maps as PNG."""

import importlib.util
import json
import os

import pytest

from crossmodal.datasets.lidar.synthetic import SyntheticForestConfig, write_synthetic_forest

ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
)
CFG = os.path.join(ROOT, 'configs', 'distill', 'fskd')
TEACHER = os.path.join(CFG, 'fskd-teacher_mit-t_300it_synthetic-forest-64x64.py')
DISTILL = os.path.join(CFG, 'fskd-distill_mit-t_300it_synthetic-forest-64x64.py')


def _tool(name):
    spec = importlib.util.spec_from_file_location(
        f'fskd_tool_{name}', os.path.join(ROOT, 'tools', f'{name}.py')
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _tiny(path, base, data_root, extra=''):
    path.write_text(f'''
_base_ = [{base!r}]
train_dataloader = dict(batch_size=2, dataset=dict(data_root={data_root!r}))
val_dataloader = dict(batch_size=2, dataset=dict(data_root={data_root!r}))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=2, val_interval=100)
default_hooks = dict(checkpoint=dict(interval=2), logger=dict(interval=1))
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=1.0, begin=0, end=2, by_epoch=False)]
{extra}
''')
    return str(path)


@pytest.mark.filterwarnings('ignore')
def test_train_and_test_teacher_then_distilled_student(tmp_path, monkeypatch):
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    data = str(tmp_path / 'forest')
    write_synthetic_forest(
        data,
        SyntheticForestConfig(seed=1, size_px=64, pulse_density=4.0),
        tile_size=32,
        progress=False,
    )
    train, test = _tool('train'), _tool('test')
    t_cfg = _tiny(
        tmp_path / 'teacher.py',
        TEACHER,
        data,
        "model = dict(data_preprocessor=dict(size=(32, 32)))",
    )
    t_dir = str(tmp_path / 'wt')
    train.main([t_cfg, '--work-dir', t_dir])
    t_ckpt = os.path.join(t_dir, 'iter_2.pth')
    assert os.path.isfile(t_ckpt)
    res = test.main([t_cfg, t_ckpt, '--work-dir', t_dir])
    assert res['model'] == 'FSKDTeacher'
    d_cfg = _tiny(
        tmp_path / 'distill.py',
        DISTILL,
        data,
        f"model = dict(data_preprocessor=dict(size=(32, 32)), teacher={TEACHER!r}, "
        f"teacher_checkpoint={t_ckpt!r})",
    )
    d_dir = str(tmp_path / 'wd')
    train.main([d_cfg, '--work-dir', d_dir])
    res = test.main([d_cfg, os.path.join(d_dir, 'iter_2.pth'), '--work-dir', d_dir])
    with open(os.path.join(d_dir, 'test_results.json')) as f:
        saved = json.load(f)
    assert saved['model'] == 'FSKDDistiller'
    for key in (
        'chm_MAE',
        'chm_MedAE',
        'chm_RMSE',
        'chm_bias',
        'chm_R2',
        'chm_r',
        'chm_canopy_IoU',
        'pai_MAE',
        'fhd_MAE',
    ):
        assert key in saved['metrics'], key
    assert saved['metrics']['n_pixels_chm'] > 0
    plots = os.path.join(d_dir, 'regression')
    assert {'scatter_chm.png', 'scatter_pai.png', 'scatter_fhd.png'} <= set(os.listdir(plots))
    errors = os.listdir(os.path.join(plots, 'errors'))
    assert errors and all(e.endswith('.png') for e in errors)
