"""The active backend's plug-in implements the whole plug-in interface."""

import inspect

from capsnet import backends
from capsnet.backends.plugin import Plugin


def test_plugin_implements_the_interface():
    plugin = backends.active()
    for name, member in inspect.getmembers(Plugin, inspect.isfunction):
        if name.startswith("_"):
            continue
        assert callable(getattr(plugin, name, None)), f"{plugin.__name__} lacks {name}()"
        expected = list(inspect.signature(member).parameters)[1:]  # without self
        assert list(inspect.signature(getattr(plugin, name)).parameters) == expected, name


def test_precision_names_are_one_vocabulary():
    import keras

    backends.setup("mixed_bfloat16")
    assert keras.config.dtype_policy().name == "mixed_bfloat16"
    backends.setup("float32")
    assert keras.config.dtype_policy().name == "float32"
