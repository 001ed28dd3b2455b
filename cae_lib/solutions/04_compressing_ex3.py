# Exercise 3: a prior on the coordinates as they are, against one on the principal axes.
# 20,000 training digits pin down the 28 scales well; 2,000 keep quick mode quick.
train_sample = data.to_float(x_train[: 2000 if config.quick_mode() else 20_000])
plain = codec.attach_prior(model, train_sample, decorrelate=False)
rotated = codec.attach_prior(model, train_sample, decorrelate=True)


def ideal_bytes_per_digit(m):
    """Ideal bytes per digit of the test latents at step 1 under the prior of codec model m."""
    s = codec.latents_to_symbols(latents, m, 1.0)
    return codec.symbol_bits(s, m, 1.0) / len(s) / 8


bytes_plain, bytes_rotated = ideal_bytes_per_digit(plain), ideal_bytes_per_digit(rotated)
print(f"independent coordinates {bytes_plain:.2f}, principal axes {bytes_rotated:.2f} ideal bytes per digit")
