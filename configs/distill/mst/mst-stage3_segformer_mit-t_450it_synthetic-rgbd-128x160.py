# MST-Distill stage 3 (routed distillation): S + GateNet train; teachers and MaskNets frozen.
# L = w_task CE + w_kl (1/k) sum_selected KD(S <- z_j.detach()) + w_lb KL(U || mean c).
# Starts from every weight of stage 2. The student continues the twin's LR schedule: twin iteration
# 150 + i has lr 2e-3 * (450 - i) / 550 = 1.636e-3 * (1 - i / 450).
_base_ = ['./mst-base_segformer_mit-t_600it_synthetic-rgbd-128x160.py']
max_iters = 450
model = dict(stage='route')
optim_wrapper = dict(optimizer=dict(lr=2e-3 * 450 / 550))
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=1.0, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters), logger=dict(interval=25))
# logs the (stage-1-updated) teachers' mIoU before routing starts
custom_hooks = [dict(type='RNGStateHook'), dict(type='TeacherEvalHook')]
