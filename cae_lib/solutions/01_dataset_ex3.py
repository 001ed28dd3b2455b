# Exercise 3: the test-set sevens in Kaggle's CSV layout, and back
is_seven = y_test == 7
sevens_path = data.save_mnist_csv(tmp / "sevens.csv", x_test[is_seven], y_test[is_seven])
sevens, sevens_labels = data.load_mnist_csv(sevens_path)
print(len(sevens), "sevens read back, labels:", set(sevens_labels.tolist()))
