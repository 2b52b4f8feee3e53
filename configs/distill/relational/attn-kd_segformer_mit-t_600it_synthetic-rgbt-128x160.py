# Attention-map KD (AttentionMapKDLoss: per query row KL(P_t || P_s) of the attention maps
# softmax(q k^T / tau), attention-distribution transfer as in MiniLM, Wang et al. NeurIPS 2020,
# computed without the N x M map) from the *thermal* branch of the RGB-T teacher into the RGB-only
# tiny SegFormer student: stage 3, first block (5 heads of d = 16, N = 8 x 10 queries at 1/16,
# M = 4 x 5 spatially reduced keys (sr_ratio 2) for a 128x160 crop; both models are the same tiny MiT, so
# heads, N and M agree). The '@qk' tap adapter (crossmodal/models/distill/tap_adapters.py) records
# the layer's per-head (q, k) from its input with project_qkv; tau = sqrt(16) = 4 reproduces the
# layers' own 1/sqrt(d) scaling, i.e. their actual attention maps are matched.
#   python tools/train.py configs/distill/relational/attn-kd_segformer_mit-t_600it_synthetic-rgbt-128x160.py \
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
                  taps=dict(attn3='backbones.thermal.layers.2.1.0.attn@qk'))),
    student_taps=dict(attn3='backbone.layers.2.1.0.attn@qk'),
    distill_losses=[
        dict(type='AttentionMapKDLoss', tau=4.0, loss_weight=1.0, student='attn3', teacher='rgbt.attn3',
             name='loss_attn_kd'),
    ])
custom_hooks = [dict(type='RNGStateHook'), dict(type='TeacherEvalHook')]
