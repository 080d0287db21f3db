"""Utilities for the acme test project."""
