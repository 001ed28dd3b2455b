my_sigma = 0.5  # a level where the noisy digits are poor (about 9 dB) and even the mean digit beats them
# Start from the shipped latent-28 weights and fine-tune with noise on the inputs only, clean targets
# (quick mode: 2,048 digits, one epoch; a network trained from scratch that briefly is no better than the mean digit).
my_denoiser = pretrained.load_pretrained(28)
training.train_autoencoder(my_denoiser, x_train, epochs=5, input_noise=my_sigma, verbose=0)
