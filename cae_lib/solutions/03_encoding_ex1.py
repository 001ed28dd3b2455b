def build_my_encoder(latent_dim=28):
    """The course's encoder in plain Keras: 28 x 28 x 1 pixels in, `latent_dim` numbers out."""
    layers = keras.layers
    inputs = keras.Input(shape=(28, 28, 1), name="image")  # 28 x 28 x 1
    x = layers.Conv2D(16, 3, strides=2, padding="same", name="conv1")(inputs)  # 14 x 14 x 16
    x = layers.ReLU(name="relu")(x)
    x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu", name="conv2")(x)  # 7 x 7 x 32
    x = layers.Conv2D(16, 3, padding="same", activation="relu", name="conv3")(x)  # 7 x 7 x 16
    x = layers.Flatten(name="flatten")(x)  # 784
    x = layers.Dense(256, activation="relu", name="dense1")(x)  # 256
    latent = layers.Dense(latent_dim, name="latent")(x)  # latent_dim, no activation: any real number
    return keras.Model(inputs, latent, name="encoder")
