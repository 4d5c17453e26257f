"""Framework-agnostic building blocks of seqpipe: sources, validation, features, models, tracking."""
