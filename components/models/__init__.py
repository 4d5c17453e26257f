"""Model builders, one module per family, each with an explicit name -> builder registry."""
