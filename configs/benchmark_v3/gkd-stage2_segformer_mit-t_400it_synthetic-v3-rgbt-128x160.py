# GKD stage 2 on the embedded benchmark v3: the stage-1 encoder frozen, the decode head trained with
# the labels (no teacher).
_base_ = [
    '../_base_/datasets/synthetic_v3_rgbt.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_v3.py'
]
student_config = '{{ fileDirname }}/../students/segformer_mit-t_800it_synthetic-v3-rgb-128x160.py'
max_iters = 400
model = dict(
    type='DistillSegmentor',
    student=student_config,
    student_modalities=('rgb', ),
    teachers=dict(),
    freeze=['backbone'])
train_dataloader = dict(dataset=dict(
    modalities=('rgb', ),
    pipeline=[
        dict(type='LoadMultiModalFromFile'), {{_base_.geometric_aug}}, {{_base_.random_crop}},
        dict(type='PackMultiModalInputs', modalities=('rgb', ))
    ]))
_test = [dict(type='LoadMultiModalFromFile'), dict(type='PackMultiModalInputs', modalities=('rgb', ))]
val_dataloader = dict(dataset=dict(modalities=('rgb', ), pipeline=_test))
test_dataloader = dict(dataset=dict(modalities=('rgb', ), pipeline=_test))
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=25),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=25, end=max_iters, by_epoch=False),
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
