from .relational_kd import AffinityKDLoss, AttentionMapKDLoss, DenseKDLoss  # noqa: F401
