"""The one error type of the converters: a one-line message naming what is unsupported."""


class InteropError(ValueError):
    """A model or file cannot be converted (unsupported layer, attribute or shape)."""
