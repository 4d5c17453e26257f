"""Pipelines for sequence and generative models: shared machinery and one folder per family."""
