# MST-Distill stage 1 on NYUDv2 (collaborative warm-up, 2k iterations; docs/methods/mst.md (e)6).
# Pre-trained teachers fine-tuned at 1/10 of the student's LR (lr_mult 0.1).
# Recipe: 1 GPU x 8 images (global batch 8). `batch_size` is per process: with N processes
# (tools/dist_train.sh <cfg> N) the global batch is N x 8; add --auto-scale-lr (LR x global/8)
# or set train_dataloader.batch_size to 8/N.
_base_ = ['./mst-base_segformer_mit-b2-to-b0_44k_nyudv2-rgbd-480x640.py']
max_iters = 2000
model = dict(stage='warmup')
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={
    'teachers': dict(lr_mult=0.1), 'pos_block': dict(decay_mult=0.), 'norm': dict(decay_mult=0.),
    'head': dict(lr_mult=10.)}))
param_scheduler = [dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
                   dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=1500, end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
custom_hooks = [dict(type='RNGStateHook'), dict(type='TeacherEvalHook')]
