# Hinton KD (tau 2, T^2-scaled KL per pixel) on the logits, RGB-T teacher -> RGB student, v3.
_base_ = ['./distill_base_rgbt.py']
model = dict(distill_losses=[
    dict(type='KDLoss', tau=2.0, loss_weight=1.0, student='logits', teacher='rgbt.logits'),
])
