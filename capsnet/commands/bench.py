"""`capsnet bench`: per-backend training and evaluation speed.

The parent process runs one worker subprocess per backend (Keras fixes its
backend at import) and gathers their JSON results into a table, bench.json
and bench.png.
"""

import json
import resource
import statistics
import time

import numpy as np

from capsnet import backends, plots
from capsnet import data as datasets
from capsnet.atomic import atomic_write
from capsnet.fresh_process import run_on_backend
from capsnet.save_dir import check_writable

MNIST_EPOCH = 60_000


def worker(config):
    """Set the active backend up as `config` says, measure, and describe the run."""
    plugin = backends.setup(config.precision, fast_paths=config.fast_paths)
    result = measure(plugin, config)
    env = backends.environment(plugin, config.precision)
    result.update(
        precision=config.precision,
        jit="auto" if config.jit is None else config.jit,
        batch_size=config.batch_size,
        routings=config.routings,
        fast_paths=env["fast_paths"],
        versions=env["versions"],
        devices=env["devices"],
        machine=env["machine"],
    )
    return result


def measure(plugin, config):
    """Time training and evaluation steps on the active backend (a `BenchConfig`); returns a dict."""
    import keras

    from capsnet.model import build_capsnet
    from capsnet.training import compile_for_training, inputs_and_targets

    batch_size, routings, steps, warmup = config.batch_size, config.routings, config.steps, config.warmup
    jit = "auto" if config.jit is None else config.jit
    epoch_images = config.images
    sample = datasets.load("sample", config.data)
    models = build_capsnet(sample.input_shape, 10, routings=routings)
    compile_for_training(models.train, jit_compile=jit)
    models.evaluate.compile(jit_compile=jit)
    index = np.arange(batch_size) % len(sample.x_train)
    (x, y), _ = inputs_and_targets(sample.x_train[index], sample.y_train[index], 10)

    def timed(step):
        plugin.sync()
        start = time.perf_counter()
        step()
        plugin.sync()
        return time.perf_counter() - start

    def train_step():
        keras.ops.convert_to_numpy(models.train.train_on_batch([x, y], [y, x])[0])

    def eval_step():
        keras.ops.convert_to_numpy(models.evaluate.predict_on_batch(x)[0])

    warm_train = sum(timed(train_step) for _ in range(warmup))
    train_times = [timed(train_step) for _ in range(steps)]
    warm_eval = sum(timed(eval_step) for _ in range(warmup))
    eval_times = [timed(eval_step) for _ in range(steps)]
    train_rate = batch_size / statistics.median(train_times)
    result = {
        "warmup_s": round(warm_train + warm_eval, 2),
        "train_img_per_s": round(train_rate, 1),
        "train_step_s": [round(t, 4) for t in train_times],
        "eval_img_per_s": round(batch_size / statistics.median(eval_times), 1),
        "epoch_s": round(MNIST_EPOCH / train_rate, 1),
        "epoch_measured": False,
    }
    if epoch_images:
        repeat = np.arange(epoch_images) % len(sample.x_train)
        (ex, ey), targets = inputs_and_targets(sample.x_train[repeat], sample.y_train[repeat], 10)
        plugin.sync()
        start = time.perf_counter()
        models.train.fit([ex, ey], targets, batch_size=batch_size, epochs=1, verbose=0)
        plugin.sync()
        elapsed = time.perf_counter() - start
        result.update(
            epoch_images=epoch_images,
            epoch_s=round(elapsed * MNIST_EPOCH / epoch_images, 1),
            epoch_measured=epoch_images >= MNIST_EPOCH,
        )
    peak = plugin.peak_memory()
    result["peak_memory_mb"] = round((peak or _peak_rss()) / 2**20, 1)
    result["peak_memory_kind"] = "device" if peak else "host RSS"
    return result


def _peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_all(names, worker_args, out_dir):
    """Run each backend's worker in a subprocess; save bench.json and bench.png.

    `out_dir` is checked first, so a bad --out fails before any measuring.
    """
    out_dir = check_writable(out_dir, "--out")
    results = {}
    for name in names:
        print(f"benchmarking {name} ...", flush=True)
        process = run_on_backend(name, ["-m", "capsnet", "--backend", name, "bench-worker", *worker_args])
        lines = process.stdout.strip().splitlines()
        if process.returncode != 0 or not lines:
            tail = (process.stderr.strip().splitlines() or ["no output"])[-1]
            results[name] = {"error": tail}
            continue
        results[name] = json.loads(lines[-1])
    text = json.dumps(results, indent=2)
    atomic_write(out_dir / "bench.json", lambda temporary: temporary.write_text(text))
    good = {n: r for n, r in results.items() if "error" not in r}
    if good:
        plots.bars(
            list(good),
            [r["train_img_per_s"] for r in good.values()],
            "training images/s",
            out_dir / "bench.png",
            "CapsNet training speed (median step)",
        )
    return results


def table(results):
    """The results as a Markdown table."""
    rows = [
        "| backend | warm-up s | train img/s | MNIST epoch s | eval img/s | peak memory MB | fast paths |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        if "error" in r:
            rows.append(f"| {name} | failed: {r['error']} | | | | | |")
            continue
        epoch = f"{r['epoch_s']}" + ("" if r["epoch_measured"] else " (extrapolated)")
        rows.append(
            f"| {name} | {r['warmup_s']} | {r['train_img_per_s']} | {epoch} | {r['eval_img_per_s']} "
            f"| {r['peak_memory_mb']} ({r['peak_memory_kind']}) | {', '.join(r['fast_paths']) or '-'} |"
        )
    return "\n".join(rows)
