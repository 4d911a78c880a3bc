"""For tools.paired_bench's `run=`: Keras's own Adam update instead of the
plug-in's compiled one (the state before the compiled Adam)."""

from capsnet import fast_ops

fast_ops.unregister("adam_update_step")
