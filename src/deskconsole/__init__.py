"""deskconsole: a keyboard-first console for the whole life of a support case."""

__version__ = "0.1.0"
