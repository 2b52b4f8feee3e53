# kd_segformer_mit-b2-to-b0_80k_msrs-unlabelled-rgbt-480x640.py (label-free KD on the unlabelled MSRS
# pool, data/msrs) with validation on MFNet `val` (data/MFNet, converted by data_prep/mfnet.py):
# mIoU every 4000 iterations, the best checkpoint kept (best_mIoU_iter_<N>.pth), and the teacher's
# own MFNet val mIoU logged once before training (TeacherEvalHook). For users who have MFNet; the
# base config needs only the pool. Training still uses no label: MFNet's labels only score.
# Recipe: 1 GPU x 8 images (global batch 8). `batch_size` is per process: with N processes
# (tools/dist_train.sh <cfg> N) the global batch is N x 8; add --auto-scale-lr (LR x global/8)
# or set train_dataloader.batch_size to 8/N.
_base_ = ['./kd_segformer_mit-b2-to-b0_80k_msrs-unlabelled-rgbt-480x640.py']
val_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type={{_base_.dataset_type}}, data_root={{_base_.data_root}}, split='val',
                 modalities={{_base_.modalities}}, pipeline={{_base_.test_pipeline}},
                 test_mode=True))
# the base sets these to None: _delete_ replaces None by the dict
val_cfg = dict(_delete_=True, type='ValLoop')
val_evaluator = dict(_delete_=True, type='PerClassIoUMetric', iou_metrics=['mIoU'])
default_hooks = dict(checkpoint=dict(save_best='mIoU'))
custom_hooks = [dict(type='RNGStateHook'), dict(type='TeacherEvalHook')]
