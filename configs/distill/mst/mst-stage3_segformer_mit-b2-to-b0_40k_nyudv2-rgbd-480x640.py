# MST-Distill stage 3 on NYUDv2 (student + GateNet, 40k iterations, poly decay).
# Recipe: 1 GPU x 8 images (global batch 8). `batch_size` is per process: with N processes
# (tools/dist_train.sh <cfg> N) the global batch is N x 8; add --auto-scale-lr (LR x global/8)
# or set train_dataloader.batch_size to 8/N.
_base_ = ['./mst-base_segformer_mit-b2-to-b0_44k_nyudv2-rgbd-480x640.py']
max_iters = 40000
model = dict(stage='route')
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=1.0, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_interval=4000)
default_hooks = dict(checkpoint=dict(interval=4000, max_keep_ckpts=2))
