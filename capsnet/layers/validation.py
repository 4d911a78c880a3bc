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


def conv_grid(layer, shape, kernel_size, strides):
    """The `(out_height, out_width)` of a 'valid' convolution over `(batch, height, width,
    channels)` inputs; a ValueError naming `layer` unless the shape is static and fits the kernel."""
    rank(layer, shape, 4, "(batch, height, width, channels)")
    height, width, channels = shape[1:]
    if height is None or width is None or channels is None:
        raise ValueError(f"{layer} needs static height, width and channels, got {tuple(shape)}")
    if min(height, width) < kernel_size:
        raise ValueError(f"{layer} kernel_size={kernel_size} is larger than its {height}x{width} input")
    return (height - kernel_size) // strides + 1, (width - kernel_size) // strides + 1
