"""A sixth family that lives only in the tests: a noisy line, a ridge model, a mean baseline."""
