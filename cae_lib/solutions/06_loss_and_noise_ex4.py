my_sigma = 0.5  # a level where the noisy digits are poor (about 9 dB): even a roughly trained model helps
my_denoiser = models.build_autoencoder(28, seed=1)
# Noise on the inputs only, clean targets (quick mode: 2,048 digits, one epoch).
training.train_autoencoder(my_denoiser, x_train, epochs=5, input_noise=my_sigma, verbose=0)
