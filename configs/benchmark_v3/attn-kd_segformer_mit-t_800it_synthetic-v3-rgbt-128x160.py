# Attention-map KD: the student's stage-3 attention logits against the teacher's thermal-branch
# stage-3 attention (tau = sqrt(d) = 4), v3 RGB-T.
_base_ = ['./distill-base_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py']
model = dict(
    teachers=dict(rgbt=dict(taps=dict(attn3='backbones.thermal.layers.2.1.0.attn@qk'))),
    student_taps=dict(attn3='backbone.layers.2.1.0.attn@qk'),
    distill_losses=[
        dict(type='AttentionMapKDLoss', tau=4.0, loss_weight=1.0, student='attn3',
             teacher='rgbt.attn3', name='loss_attn_kd'),
    ])
