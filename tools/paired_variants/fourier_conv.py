"""For `tools.paired_bench --variant fft:run=...`: the Fourier PrimaryCaps conv
where the plug-in registers none (GPUs), picked by the same rule as on CPUs."""

from capsnet import fast_ops
from capsnet.backends.fft_conv import fft_or
from capsnet.layers.primary_capsule import plain_conv

fast_ops.register("primary_conv", fft_or(plain_conv))
