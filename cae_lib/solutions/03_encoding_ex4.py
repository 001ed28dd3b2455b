# one mean latent (centroid) per class: (10, 28)
centroids = np.stack([latents[y_test == d].mean(axis=0) for d in range(10)])
gaps = np.linalg.norm(centroids[:, None] - centroids[None], axis=2)  # (10, 10) distances between centroids
np.fill_diagonal(gaps, np.inf)  # a class is at distance 0 from itself: not a pair
closest_pair = np.unravel_index(gaps.argmin(), gaps.shape)
print(f"closest classes: {closest_pair[0]} and {closest_pair[1]} (distance {gaps[closest_pair]:.2f})")
