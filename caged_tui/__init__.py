"""caged-tui: a keyboard-driven terminal dashboard for Caged AI-agent sandboxes."""

__version__ = "0.1.0"
