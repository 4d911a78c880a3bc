"""The bench.json files of a run as one table: bench-summary.md and bench-summary.json.

Adds to what `capsnet bench` records: the share of the GPU's datasheet peak
for the precision's products (`device.NOMINAL_TFLOPS`), the fastest batch size
per backend and precision, and the issue's speed targets, met or not.
"""

import json

from tools.gpu import device

PRECISION_ORDER = ("float32", "fast", "mixed_bfloat16", "mixed_float16")
BACKEND_ORDER = ("jax", "torch", "tensorflow")


def rows(results_dir, device_name):
    """One dict per measured (backend, precision, batch size), read from bench/*/bench.json."""
    found = []
    for path in sorted((results_dir / "bench").glob("*/bench.json")):
        for key, record in json.loads(path.read_text()).items():
            backend = record.get("backend", key.split()[0])
            # `--jit` runs (torch.compile on torch) are a backend of their own in the
            # table, and `--cuda-graphs` runs another
            jit = record.get("jit") is True or "-jit-" in path.parent.name
            label = f"{backend} jit" if jit else backend
            label += "+graphs" if "-jit-graphs-" in path.parent.name else ""
            calls = record.get("steps_per_execution") or 1
            label += f" {calls} steps/call" if calls > 1 else ""
            # `--data-on-host` runs (train's default on a GPU is the device)
            label += " host data" if "-host-" in path.parent.name else ""
            row = {"backend": label, "precision": record.get("precision")}
            row["batch_size"] = record.get("batch_size") or _batch_from_folder(path.parent.name)
            if "error" in record:
                found.append({**row, "error": record["error"]})
                continue
            peak = device.nominal_tflops(device_name, row["precision"])
            row.update(
                {
                    k: record.get(k)
                    for k in (
                        "train_img_per_s",
                        "vs_float32",
                        "epoch_s",
                        "epoch_measured",
                        "epoch_timed",
                        "eval_img_per_s",
                        "peak_memory_mb",
                        "peak_memory_kind",
                        "train_gflops",
                        "versions",
                        "devices",
                    )
                }
            )
            row["nominal_tflops"] = peak
            row["share_of_nominal_peak"] = round(record["train_gflops"] / (peak * 1000), 4) if peak else None
            found.append(row)
    found.sort(key=_order)
    _mark_fastest(found)
    return found


def _batch_from_folder(name):
    return int(name.rsplit("-b", 1)[-1]) if "-b" in name else None


def _rank(value, order):
    return order.index(value) if value in order else len(order)


def _backend_order(label):
    """jax, torch, tensorflow, each followed by its `--jit` row."""
    return _rank(label.split()[0], BACKEND_ORDER), label


def _order(row):
    return (
        *_backend_order(row["backend"]),
        _rank(row["precision"], PRECISION_ORDER),
        row["batch_size"] or 0,
    )


def _mark_fastest(found):
    """Flag, per (backend, precision), the batch size with the most training images/s."""
    best = {}
    for row in found:
        if "error" not in row:
            key = (row["backend"], row["precision"])
            if key not in best or row["train_img_per_s"] > best[key]["train_img_per_s"]:
                best[key] = row
    for row in found:
        row["fastest_batch"] = best.get((row["backend"], row["precision"])) is row


def targets(found):
    """The issue's speed targets against the measured rows: a list of sentences."""
    good = [r for r in found if "error" not in r]
    if not good:
        return ["no successful measurement yet"]
    lines = []
    epochs = [r for r in good if r["epoch_measured"]]
    if epochs:
        best = min(epochs, key=lambda r: r["epoch_s"])
        verdict = "met" if best["epoch_s"] <= 2 else "not met"
        lines.append(
            f"fastest 60,000-image fit() epoch: {best['epoch_s']} s ({best['backend']}, {best['precision']}, "
            f"batch {best['batch_size']}); target <= 2 s (aim <= 1 s): {verdict}"
        )
    fastest = {(r["backend"], r["precision"]): r for r in good if r["fastest_batch"]}
    for precision in PRECISION_ORDER:
        pair = [_fastest_of(fastest, b, precision) for b in ("jax", "torch")]
        if all(pair):
            ratio = max(p["train_img_per_s"] for p in pair) / min(p["train_img_per_s"] for p in pair)
            lines.append(
                f"{precision}: {pair[0]['backend']} {pair[0]['train_img_per_s']} vs {pair[1]['backend']} "
                f"{pair[1]['train_img_per_s']} img/s "
                f"(fastest batch each), {ratio:.2f}x apart; target within 1.5x: "
                + ("met" if ratio <= 1.5 else "not met")
            )
    for backend in sorted({label for label, _ in fastest}, key=_backend_order):
        base, mixed = fastest.get((backend, "float32")), fastest.get((backend, "mixed_bfloat16"))
        if base and mixed:
            ratio = mixed["train_img_per_s"] / base["train_img_per_s"]
            lines.append(
                f"{backend}: mixed_bfloat16 {ratio:.2f}x float32 (fastest batch each); target >= 1.5x: "
                + ("met" if ratio >= 1.5 else "not met")
            )
    return lines


def _fastest_of(fastest, backend, precision):
    """The fastest row of `backend` at `precision`, with or without jit, or None."""
    rows = [r for (label, p), r in fastest.items() if label.split()[0] == backend and p == precision]
    return max(rows, key=lambda r: r["train_img_per_s"], default=None)


def markdown(found, device_name, backends):
    """The table, the versions and the targets as Markdown."""
    lines = [
        f"# capsnet bench on {device_name}",
        "",
        "| backend | precision | batch | train img/s | x float32 | 60k fit() epoch s | eval img/s "
        "| peak memory MB | train TFLOP/s | share of datasheet peak |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in found:
        if "error" in r:
            lines.append(
                f"| {r['backend']} | {r['precision']} | {r['batch_size']} | failed: {r['error']} |||||||"
            )
            continue
        speed = f"**{r['train_img_per_s']}**" if r["fastest_batch"] else f"{r['train_img_per_s']}"
        epoch = f"{r['epoch_s']}" + ("" if r["epoch_measured"] else " (extrapolated)")
        # older records timed the one epoch of a fit() call with its set-up included
        epoch += "" if r["epoch_timed"] or not r["epoch_measured"] else " (whole call)"
        share = f"{r['share_of_nominal_peak']:.1%} of {r['nominal_tflops']}" if r["nominal_tflops"] else "-"
        memory = f"{r['peak_memory_mb']}" + ("" if r["peak_memory_kind"] == "device" else " (host RSS)")
        lines.append(
            f"| {r['backend']} | {r['precision']} | {r['batch_size']} | {speed} | {r['vs_float32'] or '-'} "
            f"| {epoch} | {r['eval_img_per_s']} | {memory} | {r['train_gflops'] / 1000:.2f} | {share} |"
        )
    lines += ["", "Bold: the fastest batch size of that backend and precision. Datasheet peaks are"]
    lines += ["NVIDIA's dense TFLOP/s for the products' dtype (float32 CUDA cores, TF32, bfloat16)."]
    if any(r.get("epoch_measured") and not r.get("epoch_timed") for r in found):
        lines += ["(whole call): a fit() call of one epoch, its set-up included; since then, bench times"]
        lines += ["the second epoch of two."]
    versions = {}
    for r in found:
        versions.update(r.get("versions") or {})
    if versions:
        lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + "."]
    missing = [b for b in BACKEND_ORDER if b not in backends]
    if missing:
        lines += ["", f"Not measured: {', '.join(missing)} (not installed here, or left out of --backends)."]
    judged = targets(found) or [
        "none can be judged from these rows (no full 60,000-image epoch, one backend)"
    ]
    lines += ["", "## Against the targets", ""] + [f"- {line}" for line in judged]
    return "\n".join(lines) + "\n"


def write(settings):
    """Write bench-summary.md and bench-summary.json into the results folder."""
    found = rows(settings.out, settings.device_name)
    if not found:
        return None
    (settings.out / "bench-summary.json").write_text(json.dumps(found, indent=2) + "\n")
    text = markdown(found, settings.device_name, settings.backends)
    (settings.out / "bench-summary.md").write_text(text)
    return text


def _measured(results_dir, device_name, precision, batch_size):
    return [
        r
        for r in rows(results_dir, device_name)
        if "error" not in r
        and r["precision"] == precision
        and r["batch_size"] == batch_size
        and r["backend"] in BACKEND_ORDER  # what training runs: no `--jit` rows
    ]


def fastest_backend(results_dir, device_name, precision, batch_size):
    """The backend with the shortest 60k-image epoch at (precision, batch size), or None."""
    candidates = _measured(results_dir, device_name, precision, batch_size)
    return min(candidates, key=lambda r: r["epoch_s"])["backend"] if candidates else None


def epoch_seconds(results_dir, device_name, backend, precision, batch_size):
    """The bench's 60k-image fit() epoch in seconds for this backend, precision and batch size, or None."""
    found = [r for r in _measured(results_dir, device_name, precision, batch_size) if r["backend"] == backend]
    return found[0]["epoch_s"] if found else None
