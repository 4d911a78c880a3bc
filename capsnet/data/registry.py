"""The one registry of dataset names: `load(name=...)` and `--dataset` choose from it.

A loader takes no arguments and returns the four arrays of a dataset as a
mapping with the keys x_train, y_train, x_test and y_test (a `Dataset` or
any dict of numpy arrays; a "class_names" entry, if there is one, gives the
label order). It may read files, download or build the arrays (a generated
dataset such as MultiMNIST): `capsnet.data.load` checks and converts them
as it does a user's files. Register at import time, with no heavy imports
at module level: the command line imports this package to list the names
before the Keras backend is chosen.
"""

from typing import NamedTuple

from capsnet.errors import CapsNetInputError


class RegisteredDataset(NamedTuple):
    name: str
    loader: object  # () -> mapping of x_train, y_train, x_test, y_test; or see `source`
    description: str
    # A dataset made from another (MultiMNIST from MNIST): the name of the
    # dataset it is made from by default; its loader then takes that `Dataset`
    # (or the one a path holds) and the generator's options.
    source: str | None = None


_DATASETS: dict[str, RegisteredDataset] = {}  # in registration order: the order --help lists


def register_dataset(name, loader, description, source=None):
    """Make `name` a dataset that `load(name=...)` and `--dataset` accept.

    Args:
        name: the dataset's name, e.g. "mnist".
        loader: a callable taking no arguments that returns the four arrays
            (see this module's docstring); with `source`, a callable
            `loader(dataset, **generated)` that makes this dataset from another.
        description: one line for help texts, e.g. "MNIST digits, 60000 + 10000 28x28 grey images".
        source: for a generated dataset, the registered dataset it is made
            from unless a path is given (e.g. "mnist").
    """
    if name in _DATASETS:
        raise ValueError(f"dataset {name!r} is already registered")  # a programming error, not input
    if not callable(loader):
        raise TypeError(f"the loader of dataset {name!r} must be callable, not {type(loader).__name__}")
    if source is not None and source not in _DATASETS:
        raise ValueError(f"dataset {name!r} is made from {source!r}, which is not registered")
    _DATASETS[name] = RegisteredDataset(name, loader, description, source)


def dataset_names():
    """The registered names, in registration order."""
    return tuple(_DATASETS)


def registered_dataset(name):
    """The `RegisteredDataset` (name, loader, description) called `name`; an unknown name is refused."""
    try:
        return _DATASETS[name]
    except (KeyError, TypeError):  # TypeError: an unhashable name
        raise CapsNetInputError(
            f"unknown dataset {name!r}; choose one of {', '.join(dataset_names())}"
        ) from None


def dataset_loader(name):
    """The loader registered as `name`."""
    return registered_dataset(name).loader
