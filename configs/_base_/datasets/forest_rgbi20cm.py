# Real RGBI orthophoto (20 cm GSD, R,G,B,NIR) + airborne LiDAR tiles written by data_prep/lidar.py, e.g.
#   python data_prep/lidar.py --points tile.laz --ortho dop20_rgbi.tif --out data/forest \
#       --cell-multiple 5 --tile-size 500
# (1 m metric cells for CHM / PAI / FHD as recommended in docs/methods/fskd.md (e), 100 m tiles, stored at the
# 20 cm ortho grid). FSKD (arXiv 2604.01766) is a reconstruction here (no code released).
# Check meta.json before training: modalities.rgb.channels must be 4 (an RGB-only orthophoto needs
# 3-channel models), modalities.lidar.channel_names must match the channel indices below (default
# raster parameters: 5 planar metrics + 20 profile bins of 2 m up to 40 m; a LAS with intensity adds
# an 'intensity' channel after 'density' -> shift the profile indices by one). FSKDTeacher checks the
# channel count at the first batch and names the mismatch.
dataset_type = 'RGBXSegDataset'
data_root = 'data/forest'
modalities = ('rgb', 'lidar')
targets = ('chm', 'pai', 'fhd')
target_scales = [10.0, 1.0, 1.0]
crop_size = (512, 512)
# Normalisation statistics: typical values for summer DOP20 RGBI over temperate forest and for the
# LiDAR stack; recompute them on your training tiles (per-channel mean / std) for best results.
rgbi_mean = [90.0, 100.0, 85.0, 130.0]
rgbi_std = [45.0, 40.0, 38.0, 55.0]
lidar_in_channels = 25
lidar_planar_channels = [0, 1, 2, 3, 4]
lidar_profile_channels = list(range(5, 25))
lidar_mean = [12.0, 8.0, 12.0, 0.6, 10.0] + [0.05] * 20
lidar_std = [10.0, 8.0, 10.0, 0.4, 8.0] + [0.1] * 20
modality_mean = dict(rgb=rgbi_mean, lidar=lidar_mean)
modality_std = dict(rgb=rgbi_std, lidar=lidar_std)
# aerial tiles: flips and 90-degree rotations keep every modality aligned (geometric only)
geometric_aug = dict(type='JointGeometricAug', nearest_modalities=(),
                     transforms=[dict(type='HorizontalFlip', p=0.5), dict(type='VerticalFlip', p=0.5),
                                 dict(type='RandomRotate90', p=0.5)])
random_crop = dict(type='MultiModalRandomCrop', crop_size=crop_size)
train_pipeline = [dict(type='LoadMultiModalFromFile', with_label=False), geometric_aug, random_crop,
                  dict(type='PackMultiModalInputs')]
test_pipeline = [dict(type='LoadMultiModalFromFile', with_label=False), dict(type='PackMultiModalInputs')]
student_train_pipeline = [dict(type='LoadMultiModalFromFile', with_label=False), geometric_aug, random_crop,
                          dict(type='PackMultiModalInputs', modalities=('rgb', ), stack=True)]
student_test_pipeline = [dict(type='LoadMultiModalFromFile', with_label=False),
                         dict(type='PackMultiModalInputs', modalities=('rgb', ), stack=True)]
distill_test_pipeline = [dict(type='LoadMultiModalFromFile', with_label=False),
                         dict(type='PackMultiModalInputs', modalities=('rgb', ))]
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', modalities=modalities,
                 with_label=False, with_targets=targets, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', modalities=modalities,
                 with_label=False, with_targets=targets, pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='RegressionMetric', target_names=targets, canopy_target='chm', canopy_threshold=2.0)
test_evaluator = dict(type='RegressionMetric', target_names=targets, canopy_target='chm', canopy_threshold=2.0,
                      out_dir='{work_dir}/regression', max_error_maps=16)
