"""pipetool: a Make-like incremental pipeline tool with file targets, for ML and data work in git."""

__version__ = "0.1.0"
