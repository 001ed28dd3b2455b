# Exercise 2: a horizontal line detector: a bright row between two darker rows.
# Each column sums to zero, so a vertical stroke (the same in every row) cancels out.
horizontal = np.array([[-1, -1, -1], [2, 2, 2], [-1, -1, -1]], dtype=np.float32)

seven, one = (x_test[i].astype(np.float32) / 255 for i in (0, 2))  # a 7 and a 1
print(
    f"largest response: 7 -> {conv2d(seven, horizontal).max():.2f}, 1 -> {conv2d(one, horizontal).max():.2f}"
)
