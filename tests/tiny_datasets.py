"""Tiny encoded datasets for training tests: every dataset of a params dict, encoded by its
own codec from the same hand-written four-voice pieces (shared by test_variants and
test_gpu_path)."""

from __future__ import annotations

from pathlib import Path

from scorelab.codecs import get_codec
from scorelab.params import resolve_dataset
from scorelab.score import Score, Track
from scorelab.utils import save_npz

QUARTER = 24  # ticks


def chorale(i: int, bars: int = 8) -> Score:
    """Four voices in C major, 4/4: an eighth-note soprano over quarter-note lower voices."""
    rows = []
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    for k in range(bars * 8):  # soprano: eighths
        rows.append((0, scale[(k * (i + 1)) % 8] + 7, k * QUARTER // 2, QUARTER // 2))
    for k in range(bars * 4):  # alto, tenor, bass: quarters
        for t, base in ((1, 60), (2, 55), (3, 48)):
            rows.append((t, base + (k + i + t) % 5, k * QUARTER, QUARTER))
    tracks = [Track(n) for n in ("soprano", "alto", "tenor", "bass")]
    return Score.from_notes(rows, tracks=tracks, piece_id=f"c{i}", key="C major", time_signature=(4, 4))


def encode_datasets(params: dict, root: Path, train_pieces: int = 6) -> dict[str, Path]:
    """Every dataset of ``params``, encoded from the same hand-written pieces under ``root``
    (``train_pieces`` of them in the train split, two each in valid and test)."""
    out = {}
    n = train_pieces
    for name in params["datasets"]:
        _, codec_name, settings = resolve_dataset(params, name)
        codec = get_codec(codec_name, settings)
        folder = root / name
        folder.mkdir(parents=True)
        for split, ids in (("train", range(n)), ("valid", range(n, n + 2)), ("test", range(n + 2, n + 4))):
            arrays, _ = codec.encode_split([chorale(i) for i in ids])
            save_npz(folder / f"{split}.npz", arrays)
        codec.save(folder)
        out[name] = folder
    return out
