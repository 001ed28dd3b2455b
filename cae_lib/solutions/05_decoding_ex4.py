# Solution of 05_decoding_ex4: mean PSNR per class, then the worst class's three worst digits.
worst_class, best_class = int(np.argmin(per_class)), int(np.argmax(per_class))
members = np.flatnonzero(y_test == worst_class)  # indices into x_test
worst_three = members[np.argsort(psnr[members])[:3]]
print(
    f"worst class: {worst_class} ({per_class[worst_class]:.2f} dB), best: {best_class} ({per_class[best_class]:.2f} dB)"
)
plotting.show_reconstructions(
    x_test_f[worst_three], reconstructions[worst_three], titles=[f"{psnr[i]:.1f} dB" for i in worst_three]
)
plt.show()
