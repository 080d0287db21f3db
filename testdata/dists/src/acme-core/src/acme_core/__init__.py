"""Core of the acme test project."""

__version__ = "1.0"
