"""Helpers for end-to-end tests that run the tools as a user would."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEACHER_CFG = os.path.join(
    ROOT, 'configs', 'teachers', 'rgbx-sff-segformer_mit-t_600it_synthetic-rgbt-128x160.py'
)
STUDENT_CFG = os.path.join(
    ROOT, 'configs', 'students', 'segformer_mit-t_600it_synthetic-rgbt-128x160.py'
)


def tool_env():
    env = dict(os.environ)
    env.setdefault('OMP_NUM_THREADS', '1')
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    return env


def run_tool(*args, timeout=300, check=True):
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f'{args} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}'
        )
    return proc


def write_tiny_config(path, base, data_root, max_iters=4, ckpt_interval=2, student=False):
    """A config that runs `base` on a tiny 64x80 dataset in a few iterations, deterministically."""
    pack = (
        "dict(type='PackMultiModalInputs', modalities=('rgb', ), stack=True)"
        if student
        else "dict(type='PackMultiModalInputs')"
    )
    mods = "('rgb', )" if student else "('rgb', 'thermal')"
    text = f'''
_base_ = [{base!r}]
data_root = {data_root!r}
train_pipeline = [
    dict(type='LoadMultiModalFromFile'),
    dict(type='JointGeometricAug', transforms=[dict(type='HorizontalFlip', p=0.5)]),
    dict(type='MultiModalRandomCrop', crop_size=(48, 64)),
    {pack},
]
test_pipeline = [dict(type='LoadMultiModalFromFile'), {pack}]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, modalities={mods},
                                     pipeline=train_pipeline))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root, modalities={mods}, pipeline=test_pipeline))
test_dataloader = val_dataloader
model = dict(data_preprocessor=dict(size=(48, 64)))
train_cfg = dict(max_iters={max_iters}, val_interval={max_iters})
default_hooks = dict(checkpoint=dict(interval={ckpt_interval}, max_keep_ckpts=10),
                     logger=dict(interval=1))
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=1.0, begin=0, end={max_iters},
                        by_epoch=False)]
randomness = dict(seed=0, deterministic=True)
'''
    with open(path, 'w') as f:
        f.write(text)
    return str(path)
