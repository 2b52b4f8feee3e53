# PLD (Plackett-Luce distillation, tau 1) on the logits, v3 RGB-T.
_base_ = ['./distill-base_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py']
model = dict(distill_losses=[
    dict(type='PLDLoss', tau=1.0, loss_weight=1.0, student='logits', teacher='rgbt.logits'),
])
