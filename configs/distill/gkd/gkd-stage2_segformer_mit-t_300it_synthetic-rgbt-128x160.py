# GKD stage 2 (docs/methods/gkd.md): the stage-1 student encoder frozen (no grad, eval mode), the SegFormer
# head trained on labels, no teacher and no distillation loss. `load_from` is filled in by
# tools/train_stages.py with the student of stage 1.
_base_ = [
    '../../_base_/datasets/synthetic_rgbt.py', '../../_base_/default_runtime.py',
    '../../_base_/schedules/schedule_tiny.py'
]
student_config = '{{ fileDirname }}/../../students/segformer_mit-t_600it_synthetic-rgbt-128x160.py'
max_iters = 300
model = dict(
    type='DistillSegmentor',
    student=student_config,
    student_modalities=('rgb', ),
    teachers=dict(),
    freeze=['backbone'])
# only RGB is needed now: pack it as a dict for the distiller's pre-processor
train_dataloader = dict(dataset=dict(
    modalities=('rgb', ),
    pipeline=[
        dict(type='LoadMultiModalFromFile'), {{_base_.geometric_aug}}, {{_base_.random_crop}},
        {{_base_.rgb_photometric}}, dict(type='PackMultiModalInputs', modalities=('rgb', ))
    ]))
val_dataloader = dict(dataset=dict(
    modalities=('rgb', ),
    pipeline=[dict(type='LoadMultiModalFromFile'), dict(type='PackMultiModalInputs', modalities=('rgb', ))]))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=25),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=25, end=max_iters, by_epoch=False),
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
