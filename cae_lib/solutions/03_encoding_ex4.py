# Exercise 4: the two classes whose centroids (mean latents) are nearest, for any latents and labels.
def closest_pair(latents, labels):
    classes = np.unique(labels)
    centroids = np.stack([latents[labels == c].mean(axis=0) for c in classes])  # one mean latent per class
    gaps = np.linalg.norm(centroids[:, None] - centroids[None], axis=2)  # distances between centroids
    np.fill_diagonal(gaps, np.inf)  # a class is at distance 0 from itself: not a pair
    i, j = np.unravel_index(gaps.argmin(), gaps.shape)
    return int(classes[i]), int(classes[j])


a, b = closest_pair(latents, y_test)
print(f"closest classes: {a} and {b}")
