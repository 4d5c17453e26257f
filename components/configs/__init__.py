"""Typed configuration of each family."""
