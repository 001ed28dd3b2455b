# Exercise 2: what the 8-bit TFLite decoder costs in mean PSNR against the float decoder.
digits = x_test[: 1000 if QUICK else 10_000]
blob = codec.compress(digits, sender, step=1.0)
int8_digits = receive(blob, receiver, runners["TFLite 8-bit weights"])
float_digits = codec.decompress(blob, receiver)
float_psnr = metrics.mean_psnr(digits, float_digits, data_range=255)
int8_psnr = metrics.mean_psnr(digits, int8_digits, data_range=255)
cost = float_psnr - int8_psnr
print(
    f"{len(digits)} digits: float decoder {float_psnr:.3f} dB, 8-bit decoder {int8_psnr:.3f} dB: costs {cost:.3f} dB"
)
