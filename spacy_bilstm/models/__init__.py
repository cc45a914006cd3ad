"""Architectures: pure builders that return thinc Models."""
