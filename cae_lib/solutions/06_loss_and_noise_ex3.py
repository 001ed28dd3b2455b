def strict_threshold(table):
    """The row with the fewest bytes among those with r["lossless"] and SSIM >= 0.95, or None."""
    rows = [r for r in table if r["lossless"] and r["ssim"] >= 0.95]
    return min(rows, key=lambda r: r["bytes"]) if rows else None
