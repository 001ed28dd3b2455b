# Solution of 05_decoding_ex3: one compile and one fit; the input is its own target.
my_autoencoder.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-3), loss="binary_crossentropy")
my_history = my_autoencoder.fit(
    x_first, x_first, batch_size=BATCH, epochs=1, validation_data=(x_val_f, x_val_f), shuffle=True
)
