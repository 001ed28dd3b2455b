"""Golden .cae files written before the codec became a package: they must keep decoding to the same pixels.

``tests/golden/golden.json`` records, for each file, the shipped model it
needs and the SHA-256 of the uint8 pixels it decoded to when it was written.
A change to the container, the entropy coder or the model assembly that
alters a single decoded pixel of an existing file fails here.
"""

import hashlib
import json
from pathlib import Path

import pytest

from cae_lib import codec, pretrained

GOLDEN = Path(__file__).parent / "golden"
ENTRIES = json.loads((GOLDEN / "golden.json").read_text())["files"]


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_golden_file_decodes_to_the_recorded_pixels(name):
    entry = ENTRIES[name]
    blob = (GOLDEN / name).read_bytes()
    header = codec.read_header(blob)
    assert (len(blob), header.count, header.step) == (entry["bytes"], entry["count"], entry["step"])
    digits = codec.decompress(blob, pretrained.load_pretrained(entry["latent_dim"]))
    assert digits.shape == (entry["count"], 28, 28)
    assert hashlib.sha256(digits.tobytes()).hexdigest() == entry["decoded_sha256"]


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_golden_file_is_named_by_its_model_id(name):
    header = codec.read_header((GOLDEN / name).read_bytes())
    found = pretrained.find_by_model_id(header.model_id)
    assert found is not None and found[1] == f"pretrained latent {ENTRIES[name]['latent_dim']}"
