# Exercise 3: one multiplication per weight, per output value
def multiplications(layer):
    if len(layer.kernel.shape) == 4:  # Conv2D: kernel (k, k, in_channels, filters)
        k_h, k_w, in_channels, _ = layer.kernel.shape
        _, out_h, out_w, filters = layer.output.shape
        return out_h * out_w * filters * (k_h * k_w * in_channels)
    n_in, n_out = layer.kernel.shape  # Dense: every input times every output
    return n_in * n_out
