"""An old-style project."""
