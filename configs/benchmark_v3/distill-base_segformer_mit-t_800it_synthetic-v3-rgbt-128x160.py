# Embedded benchmark v3 (RGB-T): the frozen synthetic-pretrained RGB-T teacher -> the RGB-only
# student twin (configs/students/segformer_mit-t_800it_synthetic-v3-rgb-128x160.py), no KD loss yet.
# Each loss config of this folder adds its `distill_losses` (and taps / connectors). The teacher
# checkpoint is the work dir `tools/benchmark.py methods` trains it into (or pass your own:
#   --cfg-options model.teachers.rgbt.checkpoint=<teacher work dir or .pth>).
_base_ = [
    '../_base_/datasets/synthetic_v3_rgbt.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_v3.py'
]
teacher_config = '{{ fileDirname }}/../teachers/rgbx-sff-segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py'
teacher_checkpoint = 'work_dirs/benchmark_v3/runs/teacher-rgbt/default/seed0/train'
student_config = '{{ fileDirname }}/../students/segformer_mit-t_800it_synthetic-v3-rgb-128x160.py'
model = dict(
    type='DistillSegmentor',
    student=student_config,
    student_modalities=('rgb', ),
    teachers=dict(
        rgbt=dict(config=teacher_config, checkpoint=teacher_checkpoint, modalities=('rgb', 'thermal'),
                  taps=dict(stage2='fusions.1', stage4='fusions.3'))),
    student_taps=dict(stage2='backbone[1]', stage4='backbone[3]'),
    distill_losses=[])
custom_hooks = [dict(type='RNGStateHook'), dict(type='TeacherEvalHook')]
