"""The GPU's name, the folder named after it, and its datasheet peak FLOP/s."""

import re
import subprocess

# NVIDIA's datasheet peaks in TFLOP/s, dense (without structured sparsity), by
# the dtype the products run in. The first entry whose fragments all appear in
# the device's name wins. float32 is the CUDA cores' rate (TF32 off).
NOMINAL_TFLOPS = (
    (("H100", "PCIE"), {"float32": 51.2, "tf32": 378.0, "bfloat16": 756.0}),
    (("H100", "NVL"), {"float32": 60.0, "tf32": 417.5, "bfloat16": 835.0}),
    (("H100",), {"float32": 66.9, "tf32": 494.7, "bfloat16": 989.4}),  # SXM5 (80GB HBM3)
    (("H200",), {"float32": 66.9, "tf32": 494.7, "bfloat16": 989.4}),
    (("A100",), {"float32": 19.5, "tf32": 156.0, "bfloat16": 312.0}),
)

# The dtype of the matrix products under each `--precision` of capsnet.
PRECISION_DTYPE = {
    "float32": "float32",
    "fast": "tf32",
    "mixed_bfloat16": "bfloat16",
    "mixed_float16": "bfloat16",
}


def gpu_name():
    """The first GPU's name from nvidia-smi, or "cpu" where there is none."""
    try:
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "cpu"
    names = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    return names[0] if done.returncode == 0 and names else "cpu"


def slug(name):
    """A folder-friendly name: "NVIDIA H100 80GB HBM3" -> "h100-80gb-hbm3"."""
    words = re.sub(r"[^a-z0-9]+", "-", name.lower().replace("nvidia", "")).strip("-")
    return words or "unknown"


def nominal_tflops(name, precision):
    """The datasheet peak (TFLOP/s) for `precision`'s products on GPU `name`, or None."""
    dtype = PRECISION_DTYPE.get(precision)
    upper = name.upper()
    for fragments, peaks in NOMINAL_TFLOPS:
        if all(fragment in upper for fragment in fragments):
            return peaks.get(dtype)
    return None
