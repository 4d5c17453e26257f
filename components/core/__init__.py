"""Family-agnostic machinery: config, tracking, data versioning, validation, training, registry."""
