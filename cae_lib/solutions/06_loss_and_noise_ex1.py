def psnr_uint8(originals, decoded):
    """One PSNR in dB per digit; originals and decoded are uint8 arrays (n, 28, 28)."""
    a = np.asarray(originals, dtype=np.float64)  # cast first: in uint8, 3 - 5 wraps round to 254
    b = np.asarray(decoded, dtype=np.float64)
    mse = ((a - b) ** 2).mean(axis=(1, 2))  # one mean squared error per digit
    return 10 * np.log10(255.0**2 / mse)


print(np.round(psnr_uint8(x_test[:10], data.to_uint8(recon28[:10])), 2))
