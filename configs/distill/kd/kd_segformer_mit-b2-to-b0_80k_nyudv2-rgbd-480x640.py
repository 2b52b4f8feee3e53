# Dense Hinton KD (tau=2) from the MiT-B2 RGB-X teacher into the RGB-only MiT-B0 student.
# Train the teacher first (configs/teachers/rgbx-sff-segformer_mit-b2_80k_nyudv2-rgbd-480x640.py) and
# teacher_checkpoint names its work dir, whose best checkpoint is loaded (or pass a file:
# --cfg-options model.teachers.teacher.checkpoint=...).
# Recipe: 1 GPU x 8 images (global batch 8). `batch_size` is per process: with N processes
# (tools/dist_train.sh <cfg> N) the global batch is N x 8; add --auto-scale-lr (LR x global/8)
# or set train_dataloader.batch_size to 8/N.
_base_ = [
    '../../_base_/datasets/nyudv2_rgbd.py', '../../_base_/default_runtime.py',
    '../../_base_/schedules/schedule_80k.py'
]
teacher_config = '{{ fileDirname }}/../../teachers/rgbx-sff-segformer_mit-b2_80k_nyudv2-rgbd-480x640.py'
teacher_checkpoint = 'work_dirs/rgbx-sff-segformer_mit-b2_80k_nyudv2-rgbd-480x640'
student_config = '{{ fileDirname }}/../../students/segformer_mit-b0_80k_nyudv2-rgbd-480x640.py'
model = dict(
    type='DistillSegmentor',
    student=student_config,
    student_modalities=('rgb', ),
    teachers=dict(
        teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint,
                     modalities={{_base_.modalities}}, taps=dict(stage4='fusions.3'))),
    distill_losses=[
        dict(type='KDLoss', tau=2.0, loss_weight=1.0, student='logits', teacher='teacher.logits',
             name='loss_kd'),
    ])
custom_hooks = [dict(type='RNGStateHook'), dict(type='TeacherEvalHook')]
