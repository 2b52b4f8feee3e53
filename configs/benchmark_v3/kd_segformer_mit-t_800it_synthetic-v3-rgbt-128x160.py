# Hinton KD (tau 2, T^2-scaled KL per pixel) on the logits, RGB-T teacher -> RGB student, v3.
_base_ = ['./distill-base_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py']
model = dict(distill_losses=[
    dict(type='KDLoss', tau=2.0, loss_weight=1.0, student='logits', teacher='rgbt.logits'),
])
