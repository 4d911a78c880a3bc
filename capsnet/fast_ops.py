"""The one seam through which a backend plug-in can swap in a faster op.

`capsnet/` never looks at the backend's name. A plug-in in `backends/` that has
measured a faster implementation of an op registers it here; layers ask for the
op by name and get the plain `keras.ops` version when nothing is registered.
Every registered op must return the same values as the default (tests check
each fast path against the plain one).
"""

_registry = {}
_settings = set()


def register(name, fn):
    """Use `fn` instead of the default implementation of op `name`."""
    _registry[name] = fn


def unregister(name):
    """Go back to the default implementation of op `name`. Settings stay
    listed: they cannot be undone in a running process."""
    _registry.pop(name, None)


def record_setting(name):
    """Note a process-wide setting a plug-in applied for speed (not an op), so
    that `registered()` and every run's record list it with the fast ops."""
    _settings.add(name)


def registered():
    """Names of the ops that currently have a fast path, then the settings applied."""
    return sorted(_registry) + sorted(_settings)


def get(name, default):
    """The registered implementation of `name`, or `default`."""
    return _registry.get(name, default)
