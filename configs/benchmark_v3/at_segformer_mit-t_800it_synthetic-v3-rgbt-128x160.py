# Attention transfer (Zagoruyko & Komodakis): spatial activation maps of stages 2 and 4 against the
# fused teacher features (no connector needed: maps are channel-pooled), v3 RGB-T.
_base_ = ['./distill-base_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py']
model = dict(distill_losses=[
    dict(type='ActivationAttentionLoss', loss_weight=1.0, student='stage2', teacher='rgbt.stage2',
         name='loss_at_stage2'),
    dict(type='ActivationAttentionLoss', loss_weight=1.0, student='stage4', teacher='rgbt.stage4',
         name='loss_at_stage4'),
])
