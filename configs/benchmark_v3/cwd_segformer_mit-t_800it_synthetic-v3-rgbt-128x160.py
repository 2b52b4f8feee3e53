# Channel-wise distillation (Shu et al., ICCV 2021) on logits (tau 1, weight 3) plus CWD on the fused
# stage-4 feature through a 1x1 connector, RGB-T teacher -> RGB student, v3.
_base_ = ['./distill-base_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py']
model = dict(
    connectors=dict(stage4=dict(type='ConvConnector', in_channels=128, out_channels=128)),
    distill_losses=[
        dict(type='CWDLoss', tau=1.0, loss_weight=3.0, student='logits', teacher='rgbt.logits',
             name='loss_cwd_logits'),
        dict(type='CWDLoss', tau=1.0, loss_weight=1.0, student='stage4', teacher='rgbt.stage4',
             connector='stage4', name='loss_cwd_stage4',
             schedule=dict(kind='linear_warmup', warmup_iters=50)),
    ])
