gain = np.array(curves["denoising autoencoder"]) - np.array(curves["plain autoencoder"])
print({sigma: round(float(g), 2) for sigma, g in zip(sigmas, gain)})
largest_gain_sigma = sigmas[int(np.argmax(gain))]
print(f"largest advantage at σ = {largest_gain_sigma}")
