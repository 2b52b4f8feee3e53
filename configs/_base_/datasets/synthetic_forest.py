# The embedded synthetic forest (data_prep/synthetic_forest.py; crossmodal/datasets/lidar/synthetic.py):
# RGBI 4-band PNG tiles (R, G, B, NIR) + a 13-channel LiDAR stack + CHM / PAI / FHD targets (NaN = no data).
#   python data_prep/synthetic_forest.py --out data/synthetic_forest --size 512 --tile-size 64
# FSKD (docs/methods/fskd.md) is a reconstruction (no code released); these settings are ours.
# No geometric augmentation: the synthetic sun direction is fixed and shadow length is a height cue.
dataset_type = 'RGBXSegDataset'
data_root = 'data/synthetic_forest'
modalities = ('rgb', 'lidar')
targets = ('chm', 'pai', 'fhd')
# per-target scale: the networks predict target / scale, so CHM (m, up to ~30) and PAI / FHD
# (~0-6, ~0-3) contribute comparably to the masked L1 losses
target_scales = [10.0, 1.0, 1.0]
crop_size = (64, 64)
# statistics of the seed-0 scene (train tiles); RGBI in 0-255, LiDAR channels in their units
rgbi_mean = [68.2, 78.6, 48.0, 129.5]
rgbi_std = [36.7, 28.3, 23.0, 64.8]
# LiDAR channels (meta.json modalities.lidar.channel_names): chm, hag_p50, hag_p95 (m), cover (0-1),
# density (returns/m^2), then 8 vertical-profile shares (0-4 m, ..., 28 m and up)
lidar_in_channels = 13
lidar_planar_channels = [0, 1, 2, 3, 4]
lidar_profile_channels = [5, 6, 7, 8, 9, 10, 11, 12]
lidar_mean = [10.4, 7.3, 10.2, 0.40, 14.0, 0.65, 0.02, 0.04, 0.06, 0.09, 0.09, 0.05, 0.01]
lidar_std = [11.1, 9.1, 10.9, 0.44, 9.3, 0.38, 0.08, 0.12, 0.12, 0.15, 0.16, 0.12, 0.04]
modality_mean = dict(rgb=rgbi_mean, lidar=lidar_mean)
modality_std = dict(rgb=rgbi_std, lidar=lidar_std)

# teacher / distiller: a dict of modalities {'rgb': RGBI, 'lidar': stack} + gt_regression
train_pipeline = [dict(type='LoadMultiModalFromFile', with_label=False), dict(type='PackMultiModalInputs')]
test_pipeline = train_pipeline
# RGBI-only student (stock-style single tensor): (4, H, W) uint8
student_pipeline = [
    dict(type='LoadMultiModalFromFile', with_label=False),
    dict(type='PackMultiModalInputs', modalities=('rgb', ), stack=True)
]
# distilled student at test time: only the RGBI image is loaded (no LiDAR needed)
distill_test_pipeline = [
    dict(type='LoadMultiModalFromFile', with_label=False),
    dict(type='PackMultiModalInputs', modalities=('rgb', ))
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', modalities=modalities,
                 with_label=False, with_targets=targets, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', modalities=modalities,
                 with_label=False, with_targets=targets, pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
# '{work_dir}' is replaced by the run's work dir (crossmodal.utils.runner_setup.load_run_config):
# scatter plots and error maps land in <work_dir>/regression/
val_evaluator = dict(type='RegressionMetric', target_names=targets, canopy_target='chm', canopy_threshold=2.0)
test_evaluator = dict(type='RegressionMetric', target_names=targets, canopy_target='chm', canopy_threshold=2.0,
                      out_dir='{work_dir}/regression', max_error_maps=8)
