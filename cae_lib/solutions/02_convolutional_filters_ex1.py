# Exercise 1: zero padding, then the valid convolution written above
def conv2d_padded(image, kernel, stride=1, pad=0):
    padded = np.pad(image, pad)  # `pad` rows and columns of zeros on every side
    return conv2d(padded, kernel, stride)


print("pad=1, stride 1:", conv2d_padded(digit, kernel, pad=1).shape)
