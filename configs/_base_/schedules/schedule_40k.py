# mmseg's SegFormer recipe: AdamW 6e-5, head lr x10, no decay on norms/pos_block,
# 1500-iteration linear warm-up then poly(1.0); 40000 iterations.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={
        'pos_block': dict(decay_mult=0.),
        'norm': dict(decay_mult=0.),
        'head': dict(lr_mult=10.)
    }))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=40000, by_epoch=False),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=40000, val_interval=4000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# `train_dataloader.batch_size` is per process: `tools/dist_train.sh <cfg> N` trains with N times it.
# `tools/train.py --auto-scale-lr` turns `enable` on and mmengine's Runner multiplies the LR by
# (batch_size x processes) / base_batch_size. mmseg's SegFormer recipe (6e-5) is 8 GPUs x 2 images
# = 16, but our real configs train batch 8 in 1 process (8xb1 notation: 1 process x 8 images), the
# batch their LR was chosen for: base_batch_size=8. A config whose recipe uses another batch (e.g.
# the forest RGBI configs, batch 2) should set its own `auto_scale_lr.base_batch_size`.
auto_scale_lr = dict(enable=False, base_batch_size=8)
# SafeCheckpointHook: CheckpointHook with atomic writes (crossmodal/engine/safe_checkpoint.py)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='SafeCheckpointHook', by_epoch=False, interval=4000, max_keep_ckpts=3,
                    save_best='mIoU'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
