"""Keep TensorFlow out of JAX and torch processes that never use it.

Keras asks `tensorflow.available` every time it serialises an object (each
`get_config` and every save) and when it seeds, and answers by importing
TensorFlow when it is installed: seconds of start-up and TensorFlow's C++ log
lines in a process that never runs a TensorFlow op. No TensorFlow object can
exist before TensorFlow is imported, so until something imports it (an export
to a SavedModel does), these checks are told it is absent. The JAX and torch
plug-ins call this when they load; the TensorFlow plug-in does not.
"""

import sys


def report_tensorflow_only_once_imported():
    """Make Keras's lazy `tensorflow` module available only once TensorFlow is imported."""
    from keras.src.utils import module_utils

    lazy = module_utils.tensorflow
    if isinstance(lazy, _OnceImported):
        return
    lazy.__class__ = type("_TensorFlowOnceImported", (_OnceImported, type(lazy)), {})


class _OnceImported:
    @property
    def available(self):
        if self._available is None and "tensorflow" not in sys.modules:
            return False
        return super().available
