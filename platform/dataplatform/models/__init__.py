"""ML models of registered datasets: specs, training, evaluation, the promotion rule, and an
adapter over MLflow's tracking and registry.

No Dagster here, and neither MLflow nor scikit-learn at import: the code location imports the
spec module to build its assets, and every run step imports the code location again, so the
heavy libraries are imported by the functions that train, score or track.
"""
