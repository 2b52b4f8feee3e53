# Channel-wise distillation (Shu et al., ICCV 2021) on logits (tau=1, weight 3) plus CWD on the
# fused stage-4 feature of the RGB-T teacher through a 1x1 connector, into the RGB-only tiny
# SegFormer student on the embedded dataset (mmrazor's recipe uses tau=1, weight 5 on logits).
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
        rgbt=dict(config=teacher_config, checkpoint=teacher_checkpoint, modalities=('rgb', 'thermal'),
                  taps=dict(stage4='fusions.3'))),
    student_taps=dict(stage4='backbone[3]'),
    connectors=dict(stage4=dict(type='ConvConnector', in_channels=128, out_channels=128)),
    distill_losses=[
        dict(type='CWDLoss', tau=1.0, loss_weight=3.0, student='logits', teacher='rgbt.logits',
             name='loss_cwd_logits'),
        dict(type='CWDLoss', tau=1.0, loss_weight=1.0, student='stage4', teacher='rgbt.stage4',
             connector='stage4', name='loss_cwd_stage4',
             schedule=dict(kind='linear_warmup', warmup_iters=50)),
    ])
custom_hooks = [dict(type='RNGStateHook'), dict(type='TeacherEvalHook')]
