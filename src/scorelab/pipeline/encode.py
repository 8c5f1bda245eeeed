"""encode@<dataset>: a corpus's Scores -> per-split tensors + encoding.json."""

from __future__ import annotations

from pathlib import Path

from scorelab.codecs.base import check_dataset, get_codec
from scorelab.constants import SPLITS
from scorelab.errors import EmptyCorpusError
from scorelab.score import read_notes
from scorelab.utils import atomic_dir, save_npz, write_json


def encode_dataset(name: str, codec_name: str, settings: dict, corpus_dir: Path, out_dir: Path) -> dict:
    """Encode every split of the corpus in ``corpus_dir`` into ``out_dir``.

    Writes ``{train,valid,test}.npz``, ``encoding.json`` (everything sampling needs to
    rebuild the codec) and ``summary.json`` (items per split, pieces rejected per filter).
    A split the filters leave empty raises :class:`scorelab.errors.EmptyCorpusError`
    naming the corpus and the filter (the corpus stage puts at least one piece in every
    split, so an empty split here is always a filter's doing).
    """
    codec = get_codec(codec_name, settings)
    summary: dict = {"dataset": name, "codec": codec_name, "splits": {}}
    with atomic_dir(out_dir) as tmp:
        for split in SPLITS:
            scores = read_notes(Path(corpus_dir), split=split)
            if not scores:
                raise EmptyCorpusError(f"corpus at {corpus_dir}: split {split!r} has no piece")
            arrays, info = codec.encode_split(codec.augment(scores, split))
            save_npz(tmp / f"{split}.npz", arrays)
            summary["splits"][split] = {k: v for k, v in info.items() if k != "rejected_pieces"}
            summary["splits"][split]["rejected_pieces"] = info.get("rejected_pieces", [])[:50]
        codec.save(tmp / "encoding.json")
        write_json(tmp / "summary.json", summary)
    return summary


def run_encode(params: dict, name: str, corpus_dir: Path, out: Path) -> dict:
    """Encode dataset ``name`` as params.yaml describes it."""
    from scorelab.params import resolve_dataset

    check_dataset(params, name)

    _, codec_name, settings = resolve_dataset(params, name)
    return encode_dataset(name, codec_name, settings, Path(corpus_dir), Path(out))
