# MST-Distill (docs/methods/mst.md): the method's settings, shared by every MST config; each adds its
# student and its two teachers (config, checkpoint, modalities) and, for large teachers, the MaskNet
# size and the hooked channels.
model = dict(
    type='MSTDistillSegmentor',
    stage='warmup',
    student_modalities=('rgb', ),
    # 2 MaskNets per teacher -> J = 4 specialised teachers (docs/methods/mst.md (e)1)
    mask_layers=dict(
        rgbd=dict(stage4='fusions.3', head='decode_head.fusion_conv'),
        depth=dict(stage4='backbone[3]', head='decode_head.fusion_conv')),
    hidden_dim_factor=4,
    mask_heads=3,
    tau=4.0,
    top_k=1,
    route='image',
    gate_detach_input=True,
    gate_weighting=None,
    w_task=1.0,
    w_kl=1.0,
    w_lb=1.0,
    lb_mode='KL',
    lb_code_batchmean=False,
    warmup_train_teachers=True,
    warmup_detach_targets=False,
    w_mutual=1.0)
