# Exercise 2: the mean PSNR of each digit class at latent 8 (float latent), and the class that fails first.
sample, labels = x_test[:1000], y_test[:1000]
model8 = pretrained.load_pretrained(8)
decoded8 = codec.decode_latents(codec.encode_latents(sample, model8), model8)
psnr8 = metrics.psnr(sample, decoded8, data_range=255)  # one PSNR per digit
psnr_by_class = {c: float(psnr8[labels == c].mean()) for c in range(10)}
worst = min(psnr_by_class, key=psnr_by_class.get)
print({c: round(p, 1) for c, p in psnr_by_class.items()}, "-> worst:", worst)

# Look at a few of them in the explorer (scroll up):
explorer.latent_slider.value = 8
explorer.indices = np.flatnonzero(labels == worst)[: explorer.n_digits]
shown = explorer.update()
print(
    f"the explorer shows {len(shown.indices)} digits of class {worst}: {shown.mean_psnr_db:.1f} dB at {shown.quantisation}"
)
