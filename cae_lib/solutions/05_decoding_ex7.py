# Solution of 05_decoding_ex7: the same recipe at latent 8 (your encoder of 03 and your decoder), then a prior.
training.set_seed(0)
image = keras.Input(shape=(28, 28, 1), name="image")
autoencoder8 = keras.Model(image, build_my_decoder(8)(check.encoder_from_03(8)(image)), name="autoencoder8")
if QUICK:  # a tiny run: 200 updates of 32 digits (a few seconds)
    training.train_autoencoder(autoencoder8, x_fit[:6400], x_val=x_val, epochs=1, batch_size=32, quick=False)
else:  # the course's recipe: 20 epochs, about 6 minutes on two cores
    training.train_autoencoder(autoencoder8, x_fit, x_val=x_val, epochs=20)
my_codec8 = codec.attach_prior(autoencoder8, x_fit[:5000] if QUICK else x_fit)
