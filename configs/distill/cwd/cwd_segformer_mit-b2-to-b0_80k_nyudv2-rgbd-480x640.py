# CWD on logits (tau=1, weight 3; mmrazor uses 5) + CWD on the fused stage-4 feature through a 1x1
# connector (256 -> 512 channels), MiT-B2 RGB-X teacher -> RGB-only MiT-B0 student.
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
    student_taps=dict(stage4='backbone[3]'),
    connectors=dict(stage4=dict(type='ConvConnector', in_channels=256, out_channels=512)),
    distill_losses=[
        dict(type='CWDLoss', tau=1.0, loss_weight=3.0, student='logits', teacher='teacher.logits',
             name='loss_cwd_logits'),
        dict(type='CWDLoss', tau=1.0, loss_weight=1.0, student='stage4', teacher='teacher.stage4',
             connector='stage4', name='loss_cwd_stage4'),
    ])
custom_hooks = [dict(type='RNGStateHook'), dict(type='TeacherEvalHook')]
