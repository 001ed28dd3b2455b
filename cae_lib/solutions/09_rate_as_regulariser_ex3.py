# Exercise 3: every shipped rate model at every step of TARGET_STEPS, one real file each; the smallest
# file that reaches TARGET_DB wins. The same search for the post-hoc model gives the saving.
def reaching(models):
    """(file bytes, name, step, mean PSNR) of each setting that reaches TARGET_DB."""
    found = []
    for name, model in models.items():
        for step in TARGET_STEPS:
            blob = codec.compress(digits, model, step=step)
            psnr = metrics.mean_psnr(digits, codec.decompress(blob, model), data_range=255)
            if psnr >= TARGET_DB:
                found.append((len(blob), name, step, psnr))
    return found


size, name, step, psnr = min(reaching(shipped))
size_posthoc, _, step_posthoc, psnr_posthoc = min(reaching({"ae_latent28": posthoc}))
best = (name, step)
saving = 1 - size / size_posthoc
print(f"{name} at step {step}: {size / len(digits):.2f} bytes a digit, {psnr:.2f} dB")
print(
    f"post-hoc latent 28 at step {step_posthoc}: {size_posthoc / len(digits):.2f} bytes a digit, {psnr_posthoc:.2f} dB"
)
print(f"saving: {saving:.1%}")
