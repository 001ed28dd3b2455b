# Solution of 05_decoding_ex2: each input value stamps value x kernel onto the output, stride pixels apart.
def conv_transpose2d(image, kernel, stride=1):
    kh, kw = kernel.shape
    out_h = (image.shape[0] - 1) * stride + kh
    out_w = (image.shape[1] - 1) * stride + kw
    out = np.zeros((out_h, out_w), dtype=np.float32)
    for i in range(image.shape[0]):
        for j in range(image.shape[1]):
            out[i * stride : i * stride + kh, j * stride : j * stride + kw] += image[i, j] * kernel
    return out
