def encode_by_hand(digit, step):
    """One digit (uint8, 28 x 28) -> (its int32 symbols, the range-coded payload bytes), with constriction directly."""
    z = encoder.predict(data.to_float(digit[None]), verbose=0)  # latent, shape (1, 28)
    y = prior.to_coordinates(z)[0]  # centred and rotated onto the principal axes
    symbols = np.rint(y / step).astype(np.int32)
    stds = prior.scale_values / step  # each coordinate's Gaussian, in symbol units
    reach = int(np.ceil(16 * stds.max()))  # the codec's support: 16 standard deviations of the widest
    gaussian = constriction.stream.model.QuantizedGaussian(-reach, reach)
    coder = constriction.stream.queue.RangeEncoder()
    coder.encode(symbols, gaussian, np.zeros(len(symbols)), stds)
    words = coder.get_compressed()  # uint32 words
    return symbols, words.astype("<u4").tobytes().rstrip(b"\0")  # little-endian bytes, trailing zeros dropped


symbols_0, payload_0 = encode_by_hand(digits[0], 1.0)
print(f"digit 0: symbols {symbols_0[:6].tolist()}..., payload {len(payload_0)} bytes: {payload_0.hex()}")
