# Exercise 3: milliseconds per digit of codec.compress with the sender, one digit alone and 1,000 in one call.
one_ms = 1e3 * deploy.seconds_per_call(lambda x: codec.compress(x, sender), x_test[:1], repeats=20)
batch_ms = 1e3 * deploy.seconds_per_call(lambda x: codec.compress(x, sender), x_test[:1000], repeats=3) / 1000
print(
    f"one digit: {one_ms:.2f} ms; in a batch of 1,000: {batch_ms:.3f} ms per digit ({one_ms / batch_ms:.0f} times less)"
)
# Where the difference comes from: every call pays fixed costs (Keras running the encoder, the model id hashed,
# the range coder started and flushed, a header written); a batch shares them among its digits, and the
# network runs 1,000 digits in one pass nearly as fast as one.
