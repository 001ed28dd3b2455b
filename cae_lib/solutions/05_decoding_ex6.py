# Solution of 05_decoding_ex6: two different-looking 2s, their latents mixed along a line, decoded.
a, b = np.flatnonzero(y_test == 2)[:2]
z = encoder.predict(x_test_f[[a, b]], verbose=0)
frames = decoder.predict((1 - weights)[:, None] * z[0] + weights[:, None] * z[1], verbose=0)
plotting.show_image_grid([list(frames)], col_labels=[f"{w:.2f}" for w in weights])
plt.show()
