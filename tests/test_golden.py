"""Golden .cae files: they must keep decoding to the same pixels, on every runtime.

``tests/golden/golden.json`` records, for each file, the shipped model it
needs and the SHA-256 of the uint8 pixels it decoded to when it was written:
three format-version-1 files written before the codec became a package, and
format-version-2 files of a post-hoc and a rate-aware model. A change to the
container, the entropy coder or the model assembly that alters a single
decoded pixel of an existing file fails here.

The probability tables come from numbers stored in the model file, never
from running a network: the symbols decode identically from the prior's
arrays read with h5py alone (:func:`cae_lib.codec.model_file.prior_arrays`),
which is what a runtime without Keras would hold.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from cae_lib import codec, pretrained
from cae_lib.codec import container, entropy, model_file

GOLDEN = Path(__file__).parent / "golden"
ENTRIES = json.loads((GOLDEN / "golden.json").read_text())["files"]


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_golden_file_decodes_to_the_recorded_pixels(name):
    entry = ENTRIES[name]
    blob = (GOLDEN / name).read_bytes()
    header = codec.read_header(blob)
    assert (len(blob), header.count, header.step) == (entry["bytes"], entry["count"], entry["step"])
    digits = codec.decompress(blob, pretrained.load_pretrained(_model_of(entry)))
    assert digits.shape == (entry["count"], 28, 28)
    assert hashlib.sha256(digits.tobytes()).hexdigest() == entry["decoded_sha256"]


def _model_of(entry):
    """The shipped model a golden file needs: by name, or by latent size for the oldest entries."""
    return entry.get("model", entry.get("latent_dim"))


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_golden_file_is_named_by_its_model_id(name):
    header = codec.read_header((GOLDEN / name).read_bytes())
    found = pretrained.find_by_model_id(header.model_id)
    assert found is not None and found[1] == pretrained.describe(_model_of(ENTRIES[name]))


def test_both_format_versions_and_both_model_kinds_are_covered():
    versions = {codec.read_header((GOLDEN / name).read_bytes()).version for name in ENTRIES}
    kinds = {pretrained.model_info(_model_of(entry))["kind"] for entry in ENTRIES.values()}
    assert versions == {1, 2} and kinds == {"autoencoder", "rate"}


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_probability_tables_come_from_stored_numbers_not_from_a_network(name):
    entry = ENTRIES[name]
    blob = (GOLDEN / name).read_bytes()
    header = codec.read_header(blob)
    model = pretrained.load_pretrained(_model_of(entry))
    stored = model_file.prior_arrays(pretrained.model_path(_model_of(entry)))
    prior = codec.prior_of(model)
    for key, values in (
        ("loc", prior.loc_values),
        ("scale", prior.scale_values),
        ("rotation", prior.rotation_values),
    ):
        np.testing.assert_array_equal(stored[key], values)  # bit for bit
    payload = container.payload_of(blob, header)
    from_file = entropy.decode_symbols(payload, stored["scale"], header.step, header.count)
    _, latents = codec.decompress_latents(blob, model)
    np.testing.assert_array_equal(codec.latents_to_symbols(latents, model, header.step), from_file)
