"""The JSB split's train and test frames, packed small enough to keep beside the tests.

The ladder's naive references must land on the figures measured from the real file
(11.06 and 10.48 nats per frame), and tests cannot download it. The frames codec turns
the real pickle (2,051,809 bytes, sha256 in ``source_sha256``) into frames of 88 keys,
of which only MIDI 43-96 are ever on in this split; those 54 columns are stored as bits
(``np.packbits``) with each piece's length: 32 KB for 229 + 77 chorales.
``python tests/ladder_fixture.py data/downloads/jsb_bl/jsb_chorales.pickle`` rewrites it.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

FIXTURE = Path(__file__).parent / "data" / "jsb_bl_frames.npz"
LOW, HIGH = 22, 76  # columns of the 88-key frames (MIDI 43..96) that hold every note of the split
KEYS = 88


def write_fixture(pickle_path: Path, out: Path = FIXTURE) -> None:
    """Encode the real pickle's train and test splits and store them packed."""
    from scorelab.codecs.frames import FramesCodec
    from scorelab.corpora.jsb import jsb_pickle_scores

    scores = jsb_pickle_scores(pickle_path, "jsb_bl")
    codec = FramesCodec()
    arrays = {"source_sha256": np.array(hashlib.sha256(Path(pickle_path).read_bytes()).hexdigest())}
    for split in ("train", "test"):
        a, _ = codec.encode_split([s for s in scores if s.split == split])
        outside = np.delete(a["x"], np.s_[LOW:HIGH], axis=1)
        assert not outside.any(), "a note outside MIDI 43-96: widen LOW/HIGH"
        arrays[f"{split}_bits"] = np.packbits(a["x"][:, LOW:HIGH], axis=1)
        arrays[f"{split}_lengths"] = a["lengths"]
    np.savez_compressed(out, **arrays)


def read_fixture(path: Path = FIXTURE) -> dict[str, dict[str, np.ndarray]]:
    """``{"train": arrays, "test": arrays}`` as the frames codec stores a split (x, starts, lengths)."""
    stored = np.load(path)
    out = {}
    for split in ("train", "test"):
        lengths = stored[f"{split}_lengths"]
        x = np.zeros((int(lengths.sum()), KEYS), dtype=np.uint8)
        x[:, LOW:HIGH] = np.unpackbits(stored[f"{split}_bits"], axis=1, count=HIGH - LOW)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        out[split] = {"x": x, "starts": starts, "lengths": lengths}
    return out


if __name__ == "__main__":
    write_fixture(Path(sys.argv[1]))
