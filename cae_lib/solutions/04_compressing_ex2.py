# Exercise 2: 100 digits as one file and as 100 single-digit files, at step 1.
batch = len(codec.compress(digits[:100], model, step=1.0))
singles = sum(len(f) for f in codec.compress_each(digits[:100], model, step=1.0))
saved = singles - batch
# Every file has a header and a CRC-32 (11 bytes for a single digit at step 1); the one file keeps one of them.
from_headers = 99 * codec.read_header(codec.compress(digits[0], model, step=1.0)).header_bytes
print(
    f"one file: {batch} bytes; 100 files: {singles} bytes; saved {saved} bytes, {from_headers} of them headers"
)
# The rest: each file starts and flushes the range coder once, about a byte and a half a file.
