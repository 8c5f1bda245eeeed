"""corpus@<corpus>: sources -> notes/pieces/rejected Parquet tables."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from scorelab.corpora.build import CorpusConfig, build_corpus
from scorelab.corpora.check import check_corpus
from scorelab.params import resolve_corpus

COMPRESSED = {b"\x1f\x8b": "gz", b"BZ": "bz2", b"\xfd7": "xz"}


def _compression(path: Path) -> str | None:
    with open(path, "rb") as f:
        return COMPRESSED.get(f.read(2))


def _decompress(src: Path, dest: Path) -> None:
    """Stream a gzip/bz2/xz file to ``dest`` (LPD's ``.tar.gz`` -> a ``.tar`` read by member)."""
    import bz2
    import gzip
    import lzma

    opener = {"gz": gzip.open, "bz2": bz2.open, "xz": lzma.open}[_compression(src)]
    with opener(src, "rb") as fin, open(dest, "wb") as fout:
        shutil.copyfileobj(fin, fout, 1 << 22)


def run_corpus(
    params: dict, name: str, out: Path, workers: int | None = None, raw: Path | None = None
) -> dict:
    """Build corpus ``name`` as params.yaml (with the active profile) describes it.

    ``raw`` is the corpus's fetch stage output (``data/raw/<name>``) for a fetched
    corpus. Two kinds of file there are first unpacked into a temporary folder: the
    ``local.tar`` a local corpus's folders were packed into (read as those folders, so
    piece ids are the same as reading them in place), and an LPD ``.tar.gz`` (read as a
    plain ``.tar``, member by member at byte offsets, which a compressed tar cannot be).
    Tables name these files relative to the temporary folder, so the bytes are stable.
    """
    from scorelab.pipeline.fetch import LOCAL_TAR, unpack_local

    check_corpus(params, name)
    cfg = CorpusConfig(**resolve_corpus(params, name))
    seed = params["base"]["seed"]
    if raw is None:
        return build_corpus(name, cfg, seed, Path(out), workers=workers)
    raw = Path(raw)
    with tempfile.TemporaryDirectory(prefix=f"scorelab-{name}-") as tmp_name:
        tmp = Path(tmp_name)
        if (raw / LOCAL_TAR).exists():
            cfg.paths = unpack_local(raw, tmp / "folders")
            return build_corpus(name, cfg, seed, Path(out), workers=workers, source_root=tmp / "folders")
        paths = []
        for p in cfg.source_paths(raw):
            if cfg.source == "lpd" and _compression(Path(p)):
                plain = tmp / (
                    Path(p).name.rsplit(".", 1)[0] if "." in Path(p).name else Path(p).name + ".tar"
                )
                _decompress(Path(p), plain)
                paths.append(str(plain))
            else:
                paths.append(p)
        cfg.paths, cfg.download = paths, None
        return build_corpus(name, cfg, seed, Path(out), workers=workers, source_root=tmp)
