"""Character-level generation: Char-RNN language models and a smoothed n-gram baseline."""
