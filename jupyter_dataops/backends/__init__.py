"""Backends: executors (and later sandbox providers and deployment targets), chosen by config."""
