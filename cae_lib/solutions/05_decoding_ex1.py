# Solution of 05_decoding_ex1: the decoder, the mirror image of the encoder, layer by layer.
def build_my_decoder(latent_dim=28):
    layers = keras.layers
    deconv = dict(kernel_size=3, strides=2, padding="same")  # each doubles the size
    latent = keras.Input(shape=(latent_dim,), name="latent")  # latent_dim
    x = layers.Dense(256, activation="relu", name="dense1")(latent)  # 256
    x = layers.Dense(7 * 7 * 16, activation="relu", name="dense2")(x)  # 784
    x = layers.Reshape((7, 7, 16), name="unflatten")(x)  # 7x7x16
    x = layers.Conv2DTranspose(32, **deconv, activation="relu", name="deconv1")(x)  # 14x14x32
    x = layers.Conv2DTranspose(16, **deconv, name="deconv2")(x)  # 28x28x16, no activation here
    x = layers.ReLU(name="relu")(x)  # 28x28x16
    pixels = layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="pixels")(x)  # 28x28x1 in [0, 1]
    return keras.Model(latent, pixels, name="decoder")
