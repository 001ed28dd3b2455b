# Exercise 1: the largest step (one decimal) that keeps the mean PSNR at or above 23 dB.
# Coarser steps lose quality, so scan upwards and stop at the first step that falls below 23 dB.
best_step = None
for candidate in np.round(np.arange(0.1, 5.01, 0.1), 1):
    if codec.measure(digits, model, step=candidate).mean_psnr_db < 23.0:
        break
    best_step = float(candidate)
best_bytes = codec.measure(digits, model, step=best_step).bytes_per_image
print(f"step {best_step}: {best_bytes:.2f} bytes per digit")
