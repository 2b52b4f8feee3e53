from .regression_metric import RegressionMetric  # noqa: F401
