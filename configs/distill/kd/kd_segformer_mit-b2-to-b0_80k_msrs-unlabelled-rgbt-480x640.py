# Label-free dense Hinton KD (tau=2) from the MFNet MiT-B2 RGB-T teacher into the RGB-only MiT-B0
# student on a pool of unlabelled real RGB-T recordings (MSRS, 640x480, converted by
# data_prep/paired_frames.py --classes-like mfnet), at full resolution (480x640 crops of frames
# scaled 1-1.75x). The MFNet KD recipe (model, 80k schedule, batch) with three changes:
# - train on the pool's `unlabelled` split, with_label=False: the KD term on the logits is the only
#   loss (no student cross-entropy, no labels anywhere);
# - no validation (val_dataloader/val_cfg/val_evaluator None): the pool has no labels, and a run
#   must not need MFNet to be present. Checkpoints every 4000 iterations (no best-mIoU file), no
#   TeacherEvalHook (it needs a labelled val set). test_dataloader stays MFNet `test` (data/MFNet):
#   `tools/test.py` scores the student there if you have MFNet (docs/benchmarks.md, "Distil on
#   unlabelled real recordings (MSRS)": check the pool and MFNet test for shared frames first);
# - the random scale is 1-1.75 instead of 0.5-1.75, so a crop never holds padding: without labels
#   nothing masks padded pixels out of the KD mean.
# The teacher is trained on MFNet (configs/teachers/rgbx-sff-segformer_mit-b2_80k_mfnet-rgbt-480x640.py);
# pass its checkpoint: --cfg-options model.teachers.teacher.checkpoint=<teacher.pth or work dir>.
# The 48-frame MSRS subset in shared/ is for checking the pipeline end to end; 80k iterations on it
# would only memorise it (--cfg-options train_cfg.max_iters=... for a short run), the full MSRS
# (1444 pairs) or a larger recording is what this recipe is for.
# Recipe: 1 GPU x 8 images (global batch 8). `batch_size` is per process: with N processes
# (tools/dist_train.sh <cfg> N) the global batch is N x 8; add --auto-scale-lr (LR x global/8)
# or set train_dataloader.batch_size to 8/N.
_base_ = ['./kd_segformer_mit-b2-to-b0_80k_mfnet-rgbt-480x640.py']
pool_root = 'data/msrs'
pool_train_pipeline = [
    dict(type='LoadMultiModalFromFile'),
    dict(
        type='JointGeometricAug',
        transforms=[
            dict(type='RandomScale', scale_limit=(0.0, 0.75), p=1.0),
            dict(type='HorizontalFlip', p=0.5),
        ]),
    dict(type='MultiModalRandomCrop', crop_size={{_base_.crop_size}}),
    {{_base_.rgb_photometric}},
    dict(type='PackMultiModalInputs')
]
train_dataloader = dict(
    dataset=dict(data_root=pool_root, split='unlabelled', pipeline=pool_train_pipeline))
model = dict(with_label=False)
val_dataloader = None
val_cfg = None
val_evaluator = None
default_hooks = dict(checkpoint=dict(save_best=None))
custom_hooks = [dict(type='RNGStateHook')]
