"""Text classification family: recurrent classifiers over words, TF-IDF baseline."""
