"""The GPU run: one prepared command that measures every GPU claim (issue 12).

`python -m tools.gpu_run PART...` runs the parts below in order. Each writes
its results into one folder (default `results/gpu-<device>/`) as soon as it
finishes, skips work an earlier call already finished, and stops before a
time budget runs out, so a GPU lease of 10-minute calls can be spent in a
few identical commands.

Modules, one job each:
    context   settings, the time budget, folders, running `capsnet` in a subprocess
    device    the GPU's name, its folder name, and its datasheet peak FLOP/s
    prepare   (CPU machine) wheels and data into `.whl/`, which a device call carries
    setup     installs the carried Keras wheels where Keras is missing
    info      `capsnet info` per backend, and nvidia-smi
    bench     `capsnet bench` per backend and batch size
    summary   the bench.json files as one table (summary.md, summary.json)
    training  MNIST, the routing/reconstruction ablation and Fashion-MNIST, resumable
"""
