# Exercise 2: the bits my_model counts in use, and the real bytes of one .cae file of the same digits.
my_model = trained[LAMBDAS[0]]
x_digits = data.to_float(digits)
in_use = [my_model(x_digits[i : i + 500], training=False)["bits"] for i in range(0, len(x_digits), 500)]
bits_per_digit = float(np.concatenate([np.asarray(b) for b in in_use]).mean())  # rounded latents, no noise
blob = codec.compress(digits, rate.codec_model_of(my_model), step=1.0)  # one file of all the digits
bytes_per_digit = len(blob) / len(digits)
print(
    f"the model counts {bits_per_digit:.2f} bits a digit; the file pays {8 * bytes_per_digit:.2f} bits a digit"
)
