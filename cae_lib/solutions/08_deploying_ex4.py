# Exercise 4: the encoder as a TFLite flat buffer, for a sender on a device.
encoder = models.encoder_of(model)
encoder_dir = deploy.export_saved_model(encoder, workdir / "encoder_savedmodel")
run_encoder = deploy.TFLiteRunner(deploy.export_tflite(encoder_dir))  # float32: no optimize=True
z_keras, z_tflite = np.asarray(encoder(data.to_float(x_test[:100]))), run_encoder(data.to_float(x_test[:100]))
print(f"max latent difference {np.abs(z_keras - z_tflite).max():.1e}")
