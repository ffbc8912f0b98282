"""The package's version, importable without the package's entry points (which name adapters)."""

try:
    from ._version import __version__
except ImportError:  # a source tree that was never built
    __version__ = "0.0.0.dev0"

__all__ = ["__version__"]
