# The CWD recipe of cwd_segformer_mit-t_600it_synthetic-rgbt-128x160.py on the embedded RGB-D variant:
# RGB-D teacher (depth sees the camouflaged objects) -> RGB-only tiny SegFormer student.
_base_ = [
    '../../_base_/datasets/synthetic_rgbd.py', '../../_base_/default_runtime.py',
    '../../_base_/schedules/schedule_tiny.py'
]
teacher_config = '{{ fileDirname }}/../../teachers/rgbx-sff-segformer_mit-t_600it_synthetic-rgbd-128x160.py'
teacher_checkpoint = 'work_dirs/demo/teacher/iter_600.pth'
student_config = '{{ fileDirname }}/../../students/segformer_mit-t_600it_synthetic-rgbd-128x160.py'
model = dict(
    type='DistillSegmentor',
    student=student_config,
    student_modalities=('rgb', ),
    teachers=dict(
        rgbd=dict(config=teacher_config, checkpoint=teacher_checkpoint, modalities=('rgb', 'depth'),
                  taps=dict(stage4='fusions.3'))),
    student_taps=dict(stage4='backbone[3]'),
    connectors=dict(stage4=dict(type='ConvConnector', in_channels=128, out_channels=128)),
    distill_losses=[
        dict(type='CWDLoss', tau=1.0, loss_weight=3.0, student='logits', teacher='rgbd.logits',
             name='loss_cwd_logits'),
        dict(type='CWDLoss', tau=1.0, loss_weight=1.0, student='stage4', teacher='rgbd.stage4',
             connector='stage4', name='loss_cwd_stage4',
             schedule=dict(kind='linear_warmup', warmup_iters=50)),
    ])
custom_hooks = [dict(type='RNGStateHook'), dict(type='TeacherEvalHook')]
