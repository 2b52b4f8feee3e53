# MST-Distill stage 2 on v3 (specialised-teacher adaptation): T, A, S frozen; the 4 MaskNets learn
# KD(masked teacher <- S.detach()). Starts from every weight of stage 1 (load_mode='all').
_base_ = ['./mst-base_segformer_mit-t_800it_synthetic-v3-rgbd-128x160.py']
max_iters = 200
model = dict(stage='mask')
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=20, end=max_iters, by_epoch=False),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters), logger=dict(interval=50))
