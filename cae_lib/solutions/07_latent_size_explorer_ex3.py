# Exercise 3: the smallest .cae file of target_digits that reaches TARGET_DB, over every latent size and step.
target_digits, TARGET_DB = x_test[1000:1100], 24.0
settings = []  # (file bytes, latent size, step, mean PSNR)
for d in pretrained.available_latent_dims():
    model_d = pretrained.load_pretrained(d)
    for step in widgets.DEFAULT_STEPS:
        blob = codec.compress(target_digits, model_d, step=step)
        psnr = metrics.mean_psnr(target_digits, codec.decompress(blob, model_d), data_range=255)
        settings.append((len(blob), d, step, psnr))
size, d, step, psnr = min(s for s in settings if s[3] >= TARGET_DB)
best = (d, step)
print(f"latent {d}, step {step}: {size} bytes ({size / len(target_digits):.1f} a digit), {psnr:.2f} dB")
