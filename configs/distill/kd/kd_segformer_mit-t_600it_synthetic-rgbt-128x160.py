# Hinton KD (dense, tau=2) from the RGB-T teacher into the RGB-only tiny SegFormer student on the
# embedded dataset. The student is the no-distillation twin's config
# (configs/students/segformer_mit-t_600it_synthetic-rgbt-128x160.py): same model, schedule and seed,
# so the two runs differ only by the distillation loss.
#   python tools/train.py configs/distill/kd/kd_segformer_mit-t_600it_synthetic-rgbt-128x160.py
# Teacher checkpoint: train it first (make demo / tools/train.py configs/teachers/...), or override
#   --cfg-options model.teachers.rgbt.checkpoint=path/to/iter_600.pth
_base_ = [
    '../../_base_/datasets/synthetic_rgbt.py', '../../_base_/default_runtime.py',
    '../../_base_/schedules/schedule_tiny.py'
]
teacher_config = '{{ fileDirname }}/../../teachers/rgbx-sff-segformer_mit-t_600it_synthetic-rgbt-128x160.py'
teacher_checkpoint = 'work_dirs/demo/teacher/iter_600.pth'
student_config = '{{ fileDirname }}/../../students/segformer_mit-t_600it_synthetic-rgbt-128x160.py'
model = dict(
    type='DistillSegmentor',
    student=student_config,
    student_modalities=('rgb', ),
    teachers=dict(
        rgbt=dict(config=teacher_config, checkpoint=teacher_checkpoint, modalities=('rgb', 'thermal'))),
    distill_losses=[
        dict(type='KDLoss', tau=2.0, loss_weight=1.0, student='logits', teacher='rgbt.logits',
             name='loss_kd'),
    ])
# The dataset's default pipelines pack every modality as a dict (stack=False): the distiller
# routes RGB to the student and RGB + thermal to the teacher.
custom_hooks = [dict(type='RNGStateHook'), dict(type='TeacherEvalHook')]
