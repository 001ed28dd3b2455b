# Exercise 1: the mean image of each class, and the two classes whose means are most alike
means = np.stack([x_train[y_train == d].mean(axis=0) for d in range(10)])  # (10, 28, 28), 0-255
plotting.show_digits(means / 255, titles=[str(d) for d in range(10)])

# Mean absolute difference between every pair of mean images; a class against itself is left out.
distances = np.array([[np.abs(a - b).mean() for b in means] for a in means])
np.fill_diagonal(distances, np.inf)
i, j = np.unravel_index(distances.argmin(), distances.shape)
most_alike = (int(i), int(j))
print(f"most alike on average: {i} and {j} ({distances[i, j]:.1f} of 255 apart)")
