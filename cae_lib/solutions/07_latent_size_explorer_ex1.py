# Exercise 1: the smallest latent size whose float PSNR is within 1 dB of the best one, for any sweep.
def flat_point(rows):
    psnr = {size: value for size, _, value in rows}  # rows: (latent size, bytes per digit, mean PSNR)
    best = max(psnr.values())
    return min(size for size, value in psnr.items() if value >= best - 1.0)


floats = explorer.curve[widgets.FLOAT]
print({size: round(value, 2) for size, _, value in floats})
print(f"latent {flat_point(floats)} is within 1 dB of the best ({max(value for _, _, value in floats):.2f} dB)")
