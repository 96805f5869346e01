"""Reproducible experiments behind the claims in docs/experiments.md."""
