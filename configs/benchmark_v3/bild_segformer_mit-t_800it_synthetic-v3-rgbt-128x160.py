# BiLD (Li et al., 2024): top-k logit-difference KD (k 4 of 8 classes, tau 3), v3 RGB-T.
_base_ = ['./distill-base_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py']
model = dict(distill_losses=[
    dict(type='BiLDLoss', top_k=4, tau=3.0, loss_weight=1.0, student='logits',
         teacher='rgbt.logits'),
])
