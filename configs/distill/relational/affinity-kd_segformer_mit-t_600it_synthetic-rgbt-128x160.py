# Pixel-affinity KD (AffinityKDLoss: per-row KL between softmax(cos-sim / tau) affinity maps, the
# pair-wise relational term of CIRKD, Yang et al. CVPR 2022, computed tile by tile without the
# N x N map) between the student's stage-2 map (1/8 resolution, 32 channels) and the RGB-T
# teacher's *fused* stage-2 map (SFF output, 32 channels), into the RGB-only tiny SegFormer
# student on the embedded dataset. Affinities compare pixels with each other, so the channel counts
# need not agree; here they do (same tiny MiT), so no connector is used. For a wider teacher add
#   connectors=dict(stage2=dict(type='ConvConnector', in_channels=32, out_channels=C_t))
# and connector='stage2' on the loss. tau=0.1 makes each row peaked (cosines lie in [-1, 1]).
#   python tools/train.py configs/distill/relational/affinity-kd_segformer_mit-t_600it_synthetic-rgbt-128x160.py \
#       --cfg-options model.teachers.rgbt.checkpoint=path/to/teacher/iter_600.pth
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
                  taps=dict(stage2='fusions.1'))),
    student_taps=dict(stage2='backbone[1]'),
    distill_losses=[
        dict(type='AffinityKDLoss', tau=0.1, loss_weight=1.0, student='stage2', teacher='rgbt.stage2',
             name='loss_affinity_kd'),
    ])
custom_hooks = [dict(type='RNGStateHook'), dict(type='TeacherEvalHook')]
