"""Framework-agnostic building blocks: sources, validation, features, models, tracking."""
