"""A project that needs a Python from the future."""
