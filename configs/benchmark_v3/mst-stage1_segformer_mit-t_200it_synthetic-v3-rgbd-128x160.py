# MST-Distill stage 1 on v3 (collaborative warm-up): T, A and S each minimise CE + tau^2 KL from
# the other two; the pre-trained teachers are fine-tuned at 1/10 of the student's learning rate.
_base_ = ['./mst-base_segformer_mit-t_800it_synthetic-v3-rgbd-128x160.py']
max_iters = 200
model = dict(stage='warmup')
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={
    'teachers': dict(lr_mult=0.1), 'pos_block': dict(decay_mult=0.), 'norm': dict(decay_mult=0.)}))
# twin iterations 0-200: warm-up 50, then the twin's linear decay (factor 1 - (i - 50) / 750)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='LinearLR', start_factor=1.0, end_factor=1.0 - 150 / 750, by_epoch=False, begin=50,
         end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters), logger=dict(interval=50))
custom_hooks = [dict(type='RNGStateHook'), dict(type='TeacherEvalHook')]
