target = comparison[8][1]  # the autoencoder's PSNR at latent size 8
# fit PCA once with plenty of components; PCA with k components keeps the first k of them
pca_full = PCA(n_components=128).fit(x_train_f.reshape(len(x_train_f), -1))
flat_test = x_test_f.reshape(len(x_test_f), -1)
projected = pca_full.transform(flat_test)  # (10000, 128) coordinates on the components
pca_needed = None
for k in range(8, 129):
    recon = projected[:, :k] @ pca_full.components_[:k] + pca_full.mean_
    psnr = metrics.mean_psnr(flat_test, np.clip(recon, 0, 1), data_range=1.0)
    if psnr >= target:
        pca_needed = k
        break
print(
    f"PCA needs {pca_needed} components to reach {target:.2f} dB, the autoencoder's at latent 8 ({psnr:.2f} dB)"
)
