"""Argument checks shared by the layers: each error names the bad value."""


def positive_int(name, value):
    """Return `value` if it is an int >= 1, else raise a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {name}={value!r}")
    return value


def non_negative_int(name, value):
    """Return `value` if it is an int >= 0, else raise a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"`{name}` must be an integer >= 0, got {name}={value!r}")
    return value


def rank(layer, shape, expected, meaning):
    """Raise a ValueError unless `shape` has `expected` dimensions."""
    if len(shape) != expected:
        raise ValueError(f"{layer} expects inputs of rank {expected} {meaning}, got shape {tuple(shape)}")
