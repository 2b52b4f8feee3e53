"""Input channels of each modality name: the one table the dataset contract, the models and the
benchmarks share (a dataset's meta.json ``channels`` overrides it for that dataset; a name not
listed here, e.g. a LiDAR raster stack, states its channels in meta.json / the config)."""

MODALITY_CHANNELS = {'rgb': 3, 'hha': 3, 'depth': 1, 'thermal': 1, 'rgbi': 4}
