# Exercise 4: 2 x 2 max pooling: the largest value of each 2 x 2 block
def max_pool_2x2(image):
    h, w = image.shape[0] // 2, image.shape[1] // 2  # an odd last row or column is dropped, as in Keras
    blocks = image[: 2 * h, : 2 * w].reshape(h, 2, w, 2)  # blocks[i, :, j, :] = image[2i:2i+2, 2j:2j+2]
    return blocks.max(axis=(1, 3))
