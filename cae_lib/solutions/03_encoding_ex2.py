def output_size(n, stride):
    """Side of a convolution's output with padding='same': ceil(n / stride), whatever the kernel size."""
    return -(-n // stride)  # integer ceiling: -(-7 // 2) = 4, where 7 // 2 = 3


sizes = []
n = 28
for stride in (2, 2, 1):  # conv1, conv2, conv3
    n = output_size(n, stride)
    sizes.append(n)
print("after conv1, conv2, conv3:", sizes)
