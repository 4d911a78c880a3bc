"""PyTorch fast paths, measured on CPUs (docs/benchmarks.md): the PrimaryCaps
convolution without layout copies and with a faster kernel gradient, and
DigitCaps predictions laid out as the routing reads them.
"""

import torch


def contiguous_predictions(kernel, inputs):
    """`capsnet.layers.capsule_layer.plain_predictions`, stored in its own layout.

    torch's einsum returns u_hat `(batch, n_out, n_in, dim)` as a strided view
    of an `(n_in, batch, n_out * dim)` product. Each routing product then reads
    it with a 64 KB stride, and in bfloat16 copies it first (9 copies of the
    whole tensor per training step); one copy here serves them all.
    """
    from capsnet.layers.capsule_layer import plain_predictions

    return plain_predictions(kernel, inputs).contiguous()


def channels_last_conv(inputs, kernel, strides):
    """`capsnet.layers.primary_capsule.plain_conv` on torch: inputs `(batch, h, w, c)`,
    kernel `(k, k, c, o)`, 'valid' padding -> `(batch, h', w', o)`.

    Keras's torch conv copies channels-last inputs to channels-first and then
    again to torch's channels-last memory format; the NCHW view of an NHWC
    tensor already is that format, so oneDNN reads it as it lies, and computes
    the input's gradient the same way. The kernel's gradient is `k` matrix
    products instead (`kernel_gradient`).
    """
    import keras

    inputs = keras.ops.convert_to_tensor(inputs)
    kernel = keras.ops.convert_to_tensor(kernel)  # the compute dtype under mixed precision
    return _ChannelsLastConv.apply(inputs, kernel, int(strides))


def _conv_args(inputs, kernel):
    """The NCHW / OIHW views of NHWC inputs and an HWIO kernel, as oneDNN reads them."""
    return inputs.permute(0, 3, 1, 2), kernel.permute(3, 2, 0, 1)


class _ChannelsLastConv(torch.autograd.Function):
    @staticmethod
    def forward(ctx, inputs, kernel, strides):
        ctx.save_for_backward(inputs, kernel)
        ctx.strides = strides
        nchw, oihw = _conv_args(inputs, kernel)
        return torch.nn.functional.conv2d(nchw, oihw, stride=strides).permute(0, 2, 3, 1)

    @staticmethod
    def backward(ctx, grad):
        inputs, kernel = ctx.saved_tensors
        grad = grad.contiguous()
        d_inputs = d_kernel = None
        if ctx.needs_input_grad[0]:
            nchw, oihw = _conv_args(inputs, kernel)
            stride, zeros, ones = [ctx.strides] * 2, [0, 0], [1, 1]
            d_nchw = torch.ops.aten.convolution_backward(
                grad.permute(0, 3, 1, 2),
                nchw,
                oihw,
                None,
                stride,
                zeros,
                ones,
                False,
                zeros,
                1,
                [True, False, False],
            )[0]
            d_inputs = d_nchw.permute(0, 2, 3, 1)
        if ctx.needs_input_grad[1]:
            d_kernel = kernel_gradient(inputs, grad, kernel.shape[0], ctx.strides)
        return d_inputs, d_kernel, None


def kernel_gradient(inputs, grad, size, strides):
    """d loss / d kernel `(k, k, c, o)` of a 'valid' conv, from inputs `(batch, h, w, c)`
    and d loss / d outputs `(batch, h', w', o)`.

    One matrix product per kernel row: the `k` taps of row `kh` side by side,
    `(batch * h' * w', k * c)`, transposed times the output gradient. oneDNN's
    own kernel gradient for the 9x9 stride-2 PrimaryCaps conv ran about 1.5x
    slower on a 2-core AVX512 CPU, in float32 and in bfloat16 (docs/benchmarks.md).
    """
    x = inputs.contiguous()
    batch, out_h, out_w, out_c = grad.shape
    in_c = x.shape[-1]
    rows = grad.reshape(batch * out_h * out_w, out_c)
    s_b, s_h, s_w, s_c = x.stride()
    d_kernel = x.new_empty(size, size * in_c, out_c)
    for kh in range(size):
        # taps[b, y, x, kw, c] = inputs[b, kh + strides * y, strides * x + kw, c]
        taps = x.as_strided(
            (batch, out_h, out_w, size, in_c),
            (s_b, strides * s_h, strides * s_w, s_w, s_c),
            x.storage_offset() + kh * s_h,
        )
        torch.mm(taps.reshape(-1, size * in_c).t(), rows, out=d_kernel[kh])
    return d_kernel.view(size, size, in_c, out_c)
