"""Preprocessors: fitted on the training split only, carried with the model."""
