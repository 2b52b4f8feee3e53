# DBiLD: BiLD with a per-pixel, per-direction k found by kneedle (min 2, at most half of 8), v3.
_base_ = ['./distill-base_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py']
model = dict(distill_losses=[
    dict(type='BiLDLoss', dynamic_k='kneedle', min_k=2, tau=3.0, loss_weight=1.0,
         student='logits', teacher='rgbt.logits'),
])
