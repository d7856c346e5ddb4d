"""listclean: a local-first email list cleaner."""

__version__ = "0.1.0"
