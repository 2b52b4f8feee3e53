# Decoupled KD (Zhao et al., CVPR 2022) per pixel on the logits (alpha 1, beta 8, tau 4), v3 RGB-T.
_base_ = ['./distill-base_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py']
model = dict(distill_losses=[
    dict(type='DKDLoss', alpha=1.0, beta=8.0, tau=4.0, loss_weight=1.0, student='logits',
         teacher='rgbt.logits'),
])
