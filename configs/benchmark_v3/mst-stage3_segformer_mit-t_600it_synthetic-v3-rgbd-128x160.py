# MST-Distill stage 3 on v3 (routed distillation): S + GateNet train; teachers and MaskNets frozen.
# Starts from every weight of stage 2. The student continues the twin's LR schedule: twin iteration
# 200 + i has lr 2e-3 * (600 - i) / 750 = 1.6e-3 * (1 - i / 600).
_base_ = ['./mst-base_segformer_mit-t_800it_synthetic-v3-rgbd-128x160.py']
max_iters = 600
model = dict(stage='route')
optim_wrapper = dict(optimizer=dict(lr=2e-3 * 600 / 750))
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=1.0, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters), logger=dict(interval=50))
custom_hooks = [dict(type='RNGStateHook'), dict(type='TeacherEvalHook')]
