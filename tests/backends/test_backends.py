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

    backends.setup("mixed_float16")
    assert keras.config.dtype_policy().name == "mixed_float16"
    backends.setup("float32")
    assert keras.config.dtype_policy().name == "float32"


def test_environment_records_what_is_really_computed():
    plugin = backends.active()
    env = backends.environment(plugin, "mixed_bfloat16")
    assert env["precision"] == "mixed_bfloat16"
    assert env["compute_precision"] == plugin.compute_precision("mixed_bfloat16")[0]
    assert env["compute_precision"] in backends.PRECISIONS


def test_setup_applies_the_computed_precision(caplog):
    import keras

    computed, reason = backends.active().compute_precision("mixed_bfloat16")
    with caplog.at_level("WARNING", logger="capsnet"):
        backends.setup("mixed_bfloat16")
    policy = keras.config.dtype_policy().name
    backends.setup("float32")
    assert policy == (computed if computed.startswith("mixed") else "float32")
    assert (reason or "") in caplog.text
