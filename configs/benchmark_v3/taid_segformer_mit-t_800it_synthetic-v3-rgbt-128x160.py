# TAID (temporally adaptive interpolated distillation, t 0.4 -> 1, adaptive) on the logits, v3.
_base_ = ['./distill-base_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py']
model = dict(distill_losses=[
    dict(type='TAIDLoss', t_start=0.4, t_end=1.0, loss_weight=1.0, student='logits',
         teacher='rgbt.logits'),
])
