"""Part `info`: device, versions and precision defaults of each backend.

Writes `info-<backend>.txt` (the output of `capsnet info`), `nvidia-smi.txt`
and `device.json` into the results folder; a backend already described is
skipped.
"""

import json
import subprocess

from tools.gpu import device
from tools.gpu.context import last_lines, run_until, say


def run(settings):
    """Describe the machine and every backend; returns "done" or "failed"."""
    settings.out.mkdir(parents=True, exist_ok=True)
    record = {"name": settings.device_name, "folder": settings.out.name}
    record["nominal_tflops"] = {
        p: device.nominal_tflops(settings.device_name, p) for p in device.PRECISION_DTYPE
    }
    (settings.out / "device.json").write_text(json.dumps(record, indent=2) + "\n")
    _nvidia_smi(settings.out / "nvidia-smi.txt")
    status = "done"
    for backend in settings.backends:
        path = settings.out / f"info-{backend}.txt"
        if path.is_file():
            say(f"info: {backend} already described")
            continue
        say(f"info: capsnet info on {backend}")
        temporary = path.with_name(path.name + ".tmp")
        code, _ = run_until(settings.capsnet(backend, "info"), temporary, settings.environment(backend))
        if code != 0:
            say(f"info: {backend} failed: {' | '.join(last_lines(temporary, 2))}")
            status = "failed"
            continue
        temporary.replace(path)
        for line in last_lines(path, 3, keep=lambda line: line.startswith(("versions:", "devices:"))):
            say(f"info: {backend} {line}")
    return status


def _nvidia_smi(path):
    try:
        done = subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return
    if done.returncode == 0:
        path.write_text(done.stdout)
