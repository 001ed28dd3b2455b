# Solution of 05_decoding_ex5: average the latents, then decode; average the pixels for comparison.
mean_latent_image = shipped_decoder.predict(shipped_latents.mean(axis=0, keepdims=True), verbose=0)[0]
mean_image = x_test_f.mean(axis=0)
plotting.show_digits([mean_latent_image, mean_image], titles=["decoded mean latent", "mean image"], size=2)
plt.show()
