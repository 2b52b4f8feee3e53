# Affinity KD (pairwise feature similarity, tau 0.1) on stage 2, fused teacher feature, v3 RGB-T.
_base_ = ['./distill-base_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py']
model = dict(distill_losses=[
    dict(type='AffinityKDLoss', tau=0.1, loss_weight=1.0, student='stage2',
         teacher='rgbt.stage2', name='loss_affinity_kd'),
])
