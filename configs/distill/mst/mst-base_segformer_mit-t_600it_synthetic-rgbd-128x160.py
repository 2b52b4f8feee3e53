# MST-Distill (docs/methods/mst.md) on the embedded RGB-D dataset: shared model/data of the three stage
# configs (mst-stage{1,2,3}_...). Run the whole recipe with one command:
#   python tools/train_stages.py configs/distill/mst/mst_segformer_mit-t_600it_synthetic-rgbd-128x160.py
# Teachers: T = RGB-D SFF SegFormer (configs/teachers/rgbx-sff-...rgbd...), A = depth-only SegFormer
# (configs/students/segformer_mit-t_600it_synthetic-rgbd-depthonly-128x160.py), both pre-trained 600
# iterations; the student is the RGB-only twin's config (same model and seed). The default
# checkpoint paths below are what these two commands write:
#   python tools/train.py configs/teachers/rgbx-sff-segformer_mit-t_600it_synthetic-rgbd-128x160.py --work-dir work_dirs/rgbd_teacher
#   python tools/train.py configs/students/segformer_mit-t_600it_synthetic-rgbd-depthonly-128x160.py --work-dir work_dirs/rgbd_depthonly
_base_ = [
    '../../_base_/models/mst_distill.py',
    '../../_base_/datasets/synthetic_rgbd.py', '../../_base_/default_runtime.py',
    '../../_base_/schedules/schedule_tiny.py'
]
rgbd_teacher_config = '{{ fileDirname }}/../../teachers/rgbx-sff-segformer_mit-t_600it_synthetic-rgbd-128x160.py'
depth_teacher_config = '{{ fileDirname }}/../../students/segformer_mit-t_600it_synthetic-rgbd-depthonly-128x160.py'
student_config = '{{ fileDirname }}/../../students/segformer_mit-t_600it_synthetic-rgbd-128x160.py'
model = dict(
    student=student_config,
    teachers=dict(
        rgbd=dict(config=rgbd_teacher_config, checkpoint='work_dirs/rgbd_teacher/iter_600.pth',
                  modalities=('rgb', 'depth')),
        depth=dict(config=depth_teacher_config, checkpoint='work_dirs/rgbd_depthonly/iter_600.pth',
                   modalities=('depth', ))))
# The student's LR trajectory over stages 1 + 3 equals the twin's single 600-iteration schedule
# (warm-up 50, then linear decay to 0 at 600): stage 1 covers twin iterations 0-150, stage 3 150-600.
twin_iters = 600
custom_hooks = [dict(type='RNGStateHook')]
