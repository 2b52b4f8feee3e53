# FitNet: MSE between the student's stage-4 feature (1x1 connector) and the fused stage-4 feature.
_base_ = ['./distill-base_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py']
model = dict(
    connectors=dict(stage4=dict(type='ConvConnector', in_channels=128, out_channels=128)),
    distill_losses=[
        dict(type='FeatureMSELoss', loss_weight=1.0, student='stage4', teacher='rgbt.stage4',
             connector='stage4'),
    ])
