# Exercise 3: milliseconds per digit of codec.compress with the sender, all the images given in one call.
def ms_per_digit(images):
    repeats = 20 if len(images) == 1 else 3  # a single digit is quick: more repeats for a steadier median
    seconds = deploy.seconds_per_call(lambda x: codec.compress(x, sender), images, repeats=repeats)
    return 1e3 * seconds / len(images)


one_ms, batch_ms = ms_per_digit(x_test[:1]), ms_per_digit(x_test[:1000])
print(
    f"one digit: {one_ms:.2f} ms; in a batch of 1,000: {batch_ms:.3f} ms per digit ({one_ms / batch_ms:.0f} times less)"
)
# Where the difference comes from: every call pays fixed costs (Keras running the encoder, the model id hashed,
# the range coder started and flushed, a header written); a batch shares them among its digits, and the
# network runs 1,000 digits in one pass nearly as fast as one.
