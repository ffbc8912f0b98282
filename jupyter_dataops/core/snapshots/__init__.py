"""Snapshots of a project: data through DVC, code through git, its environment and tables."""
