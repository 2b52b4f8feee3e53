# MST-Distill (docs/methods/mst.md) on the embedded benchmark v3 (RGB-D): shared model/data of the
# three stage configs (mst-stage{1,2,3}_..._synthetic-v3-rgbd-...); the recipe is
# mst_segformer_mit-t_800it_synthetic-v3-rgbd-128x160.py. Method settings as the v2 configs
# (configs/distill/mst/mst-base_segformer_mit-t_600it_synthetic-rgbd-128x160.py).
# Teachers: T = the v3 RGB-D SFF teacher, A = the v3 depth-only SegFormer, both trained 800
# iterations from the synthetic-pretrained MiT; the student is the RGB twin's config (same init,
# data order and seed). The benchmark harness passes both checkpoints
# (model.teachers.rgbd.checkpoint / model.teachers.depth.checkpoint).
_base_ = [
    '../_base_/models/mst_distill.py',
    '../_base_/datasets/synthetic_v3_rgbd.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_v3.py'
]
rgbd_teacher_config = '{{ fileDirname }}/../teachers/rgbx-sff-segformer_mit-t_800it_synthetic-v3-rgbd-128x160.py'
depth_teacher_config = '{{ fileDirname }}/../students/segformer_mit-t_800it_synthetic-v3-depth-128x160.py'
student_config = '{{ fileDirname }}/../students/segformer_mit-t_800it_synthetic-v3-rgb-128x160.py'
model = dict(
    student=student_config,
    teachers=dict(
        rgbd=dict(config=rgbd_teacher_config, checkpoint='work_dirs/v3_rgbd_teacher/iter_800.pth',
                  modalities=('rgb', 'depth')),
        depth=dict(config=depth_teacher_config, checkpoint='work_dirs/v3_depth/iter_800.pth',
                   modalities=('depth', ))))
# The student's LR trajectory over stages 1 + 3 equals the twin's single 800-iteration schedule
# (warm-up 50, then linear decay to 0 at 800): stage 1 covers twin iterations 0-200, stage 3 200-800.
twin_iters = 800
custom_hooks = [dict(type='RNGStateHook')]
