"""The one seam through which a backend plug-in can swap in a faster op.

`capsnet/` never looks at the backend's name. A plug-in in `backends/` that has
measured a faster implementation of an op registers it here; layers ask for the
op by name and get the plain `keras.ops` version when nothing is registered.
Every registered op must return the same values as the default (tests check
each fast path against the plain one).
"""

import contextlib

_registry = {}


def register(name, fn):
    """Use `fn` instead of the default implementation of op `name`."""
    _registry[name] = fn


def unregister(name):
    """Go back to the default implementation of op `name`."""
    _registry.pop(name, None)


def registered():
    """Names of the ops that currently have a fast path."""
    return sorted(_registry)


def get(name, default):
    """The registered implementation of `name`, or `default`."""
    return _registry.get(name, default)


@contextlib.contextmanager
def restored_afterwards():
    """The registry as it is now, again after the block, whatever the block registered."""
    saved = dict(_registry)
    try:
        yield
    finally:
        _registry.clear()
        _registry.update(saved)


@contextlib.contextmanager
def plain():
    """Every op's default implementation inside the block (for graphs that leave
    this process, such as exports); the registered ones again after it."""
    with restored_afterwards():
        _registry.clear()
        yield
