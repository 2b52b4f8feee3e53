# PLD (Plackett-Luce distillation, tau 1) on the logits, v3 RGB-T.
_base_ = ['./distill_base_rgbt.py']
model = dict(distill_losses=[
    dict(type='PLDLoss', tau=1.0, loss_weight=1.0, student='logits', teacher='rgbt.logits'),
])
