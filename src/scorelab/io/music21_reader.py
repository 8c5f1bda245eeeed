"""music21 streams (MusicXML, ABC, kern, ...) -> Score.

music21 is slow but reads every symbolic format its corpus ships, offline. Two things
matter for the layers above:

- tick 0 is a downbeat: a pickup (anacrusis) measure is shifted right by its
  ``paddingLeft`` so bar-based codecs and metrics cut at real bar lines;
- tied notes are merged (``stripTies``) so a held note is one note, as in MIDI.

ABC, the format of the Essen collection, is read without music21's notation passes
(:func:`_notes_only`): its import spends about half its time beaming, stemming and
re-barring, none of which changes a note's pitch, offset or length.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from pathlib import Path

from scorelab.constants import DEFAULT_RESOLUTION, DEFAULT_TEMPO_QPM, DEFAULT_VELOCITY
from scorelab.errors import CorpusReadError
from scorelab.io.limits import DEFAULT_LIMITS, ReadLimits, read_bounded
from scorelab.score import Score, Track

# Voice names of a four-part chorale, in the order tracks are kept (soprano first).
SATB = ("soprano", "alto", "tenor", "bass")


def _key_name(stream) -> str | None:
    """The piece's key as "G major"/"e minor": the notated Key if it has a mode, else analysed.

    Follows S4's preprocessing (a notated ``Key`` is trusted; a bare key signature
    is replaced by music21's Krumhansl-Schmuckler analysis).
    """
    from music21 import key as m21key

    found = stream.recurse().getElementsByClass(m21key.KeySignature).first()
    if isinstance(found, m21key.Key):
        k = found
    else:
        try:
            k = stream.analyze("key")
        except Exception:  # analysis fails on a piece with no pitches: key unknown
            return None
    return f"{k.tonic.name} {k.mode}"


def _pickup_offset(part) -> float:
    """Quarter lengths missing from a pickup measure (0 when the piece starts on a downbeat)."""
    measures = part.getElementsByClass("Measure")
    if not measures:
        return 0.0
    first = measures[0]
    return float(first.paddingLeft or 0.0)


def select_parts(parts: list, n_tracks: int, piece_id: str) -> list:
    """Choose ``n_tracks`` parts: by SATB name when the parts are named, else in order.

    Raises
    ------
    CorpusReadError
        When the piece has fewer parts than wanted, or more parts and no SATB names.
    """
    if n_tracks == len(parts):
        by_name = {(p.partName or "").strip().lower(): p for p in parts}
        if n_tracks == 4 and all(v in by_name for v in SATB):
            return [by_name[v] for v in SATB]
        return list(parts)
    if n_tracks == 4:
        by_name = {(p.partName or "").strip().lower(): p for p in parts}
        if all(v in by_name for v in SATB):
            return [by_name[v] for v in SATB]
    if n_tracks == 1 and parts:
        return [parts[0]]
    raise CorpusReadError(f"{piece_id}: has {len(parts)} parts, expected {n_tracks} (or named SATB voices)")


def score_from_music21(
    stream,
    *,
    piece_id: str,
    corpus: str,
    n_tracks: int,
    source: str = "",
    sha256: str = "",
    resolution: int = DEFAULT_RESOLUTION,
) -> Score:
    """Convert a parsed music21 score into a :class:`Score` with ``n_tracks`` tracks.

    Raises
    ------
    CorpusReadError
        When the piece has the wrong number of parts or no notes.
    """
    from music21 import meter, tempo

    parts = list(stream.parts) if hasattr(stream, "parts") and len(stream.parts) else [stream]
    chosen = select_parts(parts, n_tracks, piece_id)
    shift = _pickup_offset(chosen[0])
    rows = []
    tracks = []
    for t, part in enumerate(chosen):
        name = (part.partName or (SATB[t] if n_tracks == 4 else f"track{t}")).strip()
        tracks.append(Track(name.lower() if n_tracks == 4 else name, 0, False))
        # in place: the parsed stream is ours, and stripTies' copy was a fifth of a tune's parse
        part.stripTies(inPlace=True)
        for n in part.flatten().notes:
            ql = float(n.quarterLength)
            if ql <= 0:  # grace notes have no duration of their own: skipped
                continue
            onset = int(round((float(n.offset) + shift) * resolution))
            dur = max(1, int(round(ql * resolution)))
            vel = n.volume.velocity if n.volume.velocity is not None else DEFAULT_VELOCITY
            for p in n.pitches:
                rows.append((t, int(p.midi), onset, dur, int(vel)))
    if not rows:
        raise CorpusReadError(f"{piece_id}: no notes")
    ts = stream.recurse().getElementsByClass(meter.TimeSignature).first()
    mm = stream.recurse().getElementsByClass(tempo.MetronomeMark).first()
    qpm = float(mm.getQuarterBPM()) if mm is not None and mm.getQuarterBPM() else DEFAULT_TEMPO_QPM
    return Score.from_notes(
        rows,
        tracks=tracks,
        resolution=resolution,
        piece_id=piece_id,
        corpus=corpus,
        time_signature=(int(ts.numerator), int(ts.denominator)) if ts is not None else (4, 4),
        tempo=qpm,
        key=_key_name(stream),
        source=source,
        sha256=sha256,
    )


def read_music21_file(path: Path, limits: ReadLimits = DEFAULT_LIMITS, **kw) -> Score:
    """Parse one file music21 can read; errors become :class:`CorpusReadError` naming it.

    The file is read only when it is a regular file within ``limits.max_bytes``, and a
    compressed MusicXML only when its members, unpacked, are too (a 1.5 MB ``.mxl``
    holding a 1.5 GiB member had reached 3.4 GB before a memory cap stopped it).
    """
    from music21 import converter

    path = Path(path)
    try:
        data = read_bounded(path, limits)
    except OSError as exc:
        raise CorpusReadError(f"{path.name}: cannot read file: {exc}") from exc
    problem = unpacked_problem(data, limits) if path.suffix.lower() == ".mxl" else None
    if problem:
        raise CorpusReadError(f"{path.name}: {problem}")
    try:
        stream = converter.parse(path)
    except Exception as exc:  # music21 raises many types; every one is a skip reason
        raise CorpusReadError(f"{path.name}: {type(exc).__name__}: {exc}") from exc
    return score_from_music21(stream, source=path.name, sha256=hashlib.sha256(data).hexdigest(), **kw)


def unpacked_problem(data: bytes, limits: ReadLimits) -> str | None:
    """A zip (``.mxl``) whose members would unpack past ``limits.max_bytes``, or None."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return f"not a readable compressed MusicXML: {exc}"
    if total > limits.max_bytes:
        return f"members of {total} bytes unpacked, over limits.max_bytes ({limits.max_bytes})"
    return None


@contextmanager
def _notes_only():
    """music21's ABC import without its notation-only passes, for the time of one parse.

    ``abcFormat.translate.abcToStreamPart`` ends by re-barring overfull measures
    (``reBar``: splits a measure at the bar length, the halves tied) and beaming and
    stemming every measure (``Stream.makeBeams``). Measured on Essen's ``han1.abc``,
    they took 24 % and 35 % of a tune's parse. Neither moves a note: a note split by
    ``reBar`` is tied and merged again by ``stripTies``, and beams and stems are
    engraving. Both are swapped for no-ops here and put back after, in this process only
    (the corpus stage's parse workers are single-threaded). The corpus built with and
    without them is byte-identical (``tests/test_music21_reader.py`` checks tunes that
    have pickups, ties across bars and overfull measures).
    """
    from music21.abcFormat import translate
    from music21.stream import Stream

    re_bar, make_beams = translate.reBar, Stream.makeBeams
    translate.reBar = lambda part, *, inPlace=False: part
    Stream.makeBeams = lambda self, *a, **k: None if k.get("inPlace") else self
    try:
        yield
    finally:
        translate.reBar, Stream.makeBeams = re_bar, make_beams


def parse_abc(text: str):
    """One ABC tune's text as a music21 Score, the text never read as a file name.

    ``converter.parse(text)`` takes a string that names an existing file (or a URL) for
    that file; an ``.abc`` whose whole text was a path read that path. Here the text is
    tokenised by ``ABCFile.readstr`` and translated as it is.
    """
    from music21 import abcFormat, stream

    handler = abcFormat.ABCFile().readstr(text)
    score = stream.Score()
    with _notes_only():
        abcFormat.translate.abcToStreamScore(handler, score)
    return score


def read_abc_tune(text: str, *, fast: bool = True, **kw) -> Score:
    """Parse one ABC tune (one ``X:`` block); errors become :class:`CorpusReadError`.

    ``fast=False`` parses with music21's notation passes (:func:`_notes_only`), for the
    test that the two agree.
    """
    from music21 import converter

    try:
        stream = parse_abc(text) if fast else converter.parseData(text, format="abc")
    except Exception as exc:  # as above: recorded, then skipped
        raise CorpusReadError(f"{kw.get('piece_id', '?')}: {type(exc).__name__}: {exc}") from exc
    return score_from_music21(stream, sha256=hashlib.sha256(text.encode()).hexdigest(), **kw)
