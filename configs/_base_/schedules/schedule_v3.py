# Embedded benchmark v3 schedule: pretrained tiny MiT, 96x128 crops of the 128x160 frames, batch 8,
# 800 iterations (about 6 epochs of the 1000 train frames), on CPU.
_base_ = ['./schedule_tiny.py']
# lr 2e-3 chosen on the twin's validation mIoU at 800 iterations (1e-3: 26.4 at 200 and 40.5 at 600;
# 2e-3: 53.05 at 800; 4e-3: 53.11 at 800, seed 0)
optim_wrapper = dict(optimizer=dict(lr=2e-3))
max_iters = 800
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=50, end=max_iters, by_epoch=False),
]
# validation 4 times per run: the curve shows whether the run has converged
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters // 4)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
