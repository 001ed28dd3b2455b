# Exercise 2: gzip -9 of a set of digits in one stream, in bytes per digit
def gzip_bytes_per_digit(images):
    return len(gzip.compress(images.tobytes(), compresslevel=9)) / len(images)


for d in (1, 8):
    subset = x_test[y_test == d]
    print(
        f"digit {d}: {gzip_bytes_per_digit(subset):.0f} bytes per image, ink pixels {np.mean(subset > 0):.1%}"
    )
# Ones have about half as many ink pixels as eights: less to describe, and long runs of black.
