# Exercise 1: the bits of each value, -log2 of the probability mass of its bin [v - 1/2, v + 1/2].
def bits_of(values, loc, scale):
    values = keras.ops.convert_to_tensor(values, "float32")

    def cdf(x):  # Phi, the standard normal CDF
        return 0.5 * (1.0 + keras.ops.erf(x / 2.0**0.5))

    probability = cdf((values + 0.5 - loc) / scale) - cdf((values - 0.5 - loc) / scale)
    probability = keras.ops.maximum(probability, rate.LIKELIHOOD_FLOOR)  # far in the tails P rounds to 0
    return -keras.ops.log(probability) / np.log(2.0)
