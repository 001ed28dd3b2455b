# Exercise 4: an IDX file written by hand
def idx_bytes(array):
    header = bytes([0, 0, 0x08, array.ndim])  # two zero bytes, unsigned bytes, number of dimensions
    for size in array.shape:
        header += size.to_bytes(4, "big")  # each dimension as a 4-byte big-endian integer
    return header + array.astype(np.uint8).tobytes()  # then the values, row by row


print(idx_bytes(x_test[:3])[:16].hex(" "))
