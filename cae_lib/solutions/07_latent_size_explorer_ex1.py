# Exercise 1: the smallest latent size whose float PSNR is within 1 dB of the best one.
floats = {d: psnr for d, _, psnr in explorer.curve[widgets.FLOAT]}
best_psnr = max(floats.values())
flat = min(d for d, psnr in floats.items() if psnr >= best_psnr - 1.0)
print({d: round(psnr, 2) for d, psnr in floats.items()})
print(f"latent {flat} is within 1 dB of the best ({best_psnr:.2f} dB)")
