# Exercise 1: the receiver's decode step, on a device with the prior and an exported decoder only.
def receive(cae_bytes, receiver, run_decoder):
    """The digits (uint8, (n, 28, 28)) of a .cae file, decoded by run_decoder (latents -> float pixels)."""
    _, latents = codec.decompress_latents(
        cae_bytes, receiver
    )  # header and model-id checks, range decoder, prior
    return data.to_uint8(
        run_decoder(latents)
    )  # float pixels in [0, 1] -> uint8, rounded; channel axis dropped
