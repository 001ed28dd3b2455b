def conv_params(kernel, c_in, c_out):
    """A Conv2D or Conv2DTranspose layer: c_out kernels of kernel x kernel x c_in weights, plus one bias each."""
    return c_out * (kernel * kernel * c_in + 1)


def dense_params(n_in, n_out):
    """A Dense layer: n_in x n_out weights plus n_out biases."""
    return n_out * (n_in + 1)


flat = 28 * 28 * 64  # stride 1 everywhere: the grid stays 28 x 28, with 64 maps after conv3
slide_encoder = (conv_params(3, 1, 32) + conv_params(3, 32, 64) + conv_params(3, 64, 64)
                + dense_params(flat, 128) + dense_params(128, 28))  # fmt: skip
slide_decoder = (dense_params(28, 128) + dense_params(128, flat)
                + conv_params(3, 64, 64) + conv_params(3, 64, 32) + conv_params(3, 32, 1))  # fmt: skip
print(f"slide encoder: {slide_encoder:,} parameters; slide decoder: {slide_decoder:,}")
