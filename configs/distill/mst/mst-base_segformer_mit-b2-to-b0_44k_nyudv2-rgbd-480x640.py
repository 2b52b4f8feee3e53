# MST-Distill (docs/methods/mst.md) on NYUDv2 (40 classes): shared model/data of the three stage configs.
# T = RGB-D SFF SegFormer MiT-B2, A = depth-only SegFormer MiT-B2, S = RGB SegFormer MiT-B0.
# Run: python tools/train_stages.py configs/distill/mst/mst_segformer_mit-b2-to-b0_44k_nyudv2-rgbd-480x640.py \
#        --cfg-options model.teachers.rgbd.checkpoint=... model.teachers.depth.checkpoint=...
# MaskNet size: hidden_dim_factor 16 (code: 2). Token widths h = 30 (C = 512, stage 4) and 48
# (C = 768, head fused feature): 7.9 M + 28.3 M parameters per teacher (code: 67 M + 226 M).
# Recipe: 1 GPU x 8 images (global batch 8). `batch_size` is per process: with N processes
# (tools/dist_train.sh <cfg> N) the global batch is N x 8; add --auto-scale-lr (LR x global/8)
# or set train_dataloader.batch_size to 8/N.
_base_ = [
    '../../_base_/models/mst_distill.py',
    '../../_base_/datasets/nyudv2_rgbd.py', '../../_base_/default_runtime.py',
    '../../_base_/schedules/schedule_80k.py'
]
rgbd_teacher_config = '{{ fileDirname }}/../../teachers/rgbx-sff-segformer_mit-b2_80k_nyudv2-rgbd-480x640.py'
depth_teacher_config = '{{ fileDirname }}/../../teachers/segformer_mit-b2_80k_nyudv2-depthonly-480x640.py'
student_config = '{{ fileDirname }}/../../students/segformer_mit-b0_80k_nyudv2-rgbd-480x640.py'
model = dict(
    student=student_config,
    teachers=dict(
        rgbd=dict(config=rgbd_teacher_config,
                  checkpoint='work_dirs/rgbx-sff-segformer_mit-b2_80k_nyudv2-rgbd-480x640',
                  modalities=('rgb', 'depth')),
        depth=dict(config=depth_teacher_config,
                   checkpoint='work_dirs/segformer_mit-b2_80k_nyudv2-depthonly-480x640',
                   modalities=('depth', ))),
    # channels of the hooked outputs (saves the dummy teacher forward that infers them)
    mask_channels=dict(rgbd_stage4=512, rgbd_head=768, depth_stage4=512, depth_head=768),
    hidden_dim_factor=16)
custom_hooks = [dict(type='RNGStateHook')]
