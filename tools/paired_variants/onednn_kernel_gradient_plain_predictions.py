"""Variant for tools.paired_bench: the torch fast paths as before this round."""

from pathlib import Path

here = Path(__file__).parent
for name in ("onednn_kernel_gradient.py", "plain_predictions.py"):
    exec((here / name).read_text(), {})
