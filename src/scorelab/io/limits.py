"""What one input file may cost: bytes, notes, tracks, length, tempo, parse time, memory.

Researchers point scorelab at folders they did not make. A 37-byte MIDI file (one note of
2^28 ticks at one tick per quarter) was kept by the corpus stage with a length of 6.4e9
ticks, and then asked ``scorelab evaluate`` for 4.9 GB and ``encode`` for 256 GiB; a
file with 5,000 one-note tracks made tonal distance loop over 12.5 million track pairs
(issue 22). Every reader therefore checks each file against :class:`ReadLimits` and
rejects one past a limit with the limit named, so memory and time are bounded by the
limits, never by the input.

The defaults sit far above any real score this project has met (the largest Lakh MIDI
files are a few MB with tens of tracks; a MAESTRO performance is under an hour), and
each corpus can set its own (``corpora.<c>.limits`` in params.yaml); ``scorelab
evaluate`` uses the defaults.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scorelab.config import positive

MIB = 1 << 20


@dataclass(frozen=True)
class ReadLimits:
    """Per-file limits; every field is a key of ``corpora.<c>.limits``.

    Attributes
    ----------
    max_bytes
        Bytes of a file (for a compressed MusicXML, of its members once unpacked); checked
        before the file is read whole.
    max_notes
        Notes of one piece.
    max_tracks
        Tracks of one piece (what the pairwise set metrics loop over).
    max_ticks
        A piece's length in ticks at the Score resolution (24 per quarter: 2,000,000 ticks
        are 83,333 quarter notes), what the piano-roll codecs allocate by.
    max_seconds
        A piece's length in seconds, from its own tempo map.
    min_qpm, max_qpm
        The tempo range: every tempo a file states must be finite and inside it.
    parse_seconds
        Wall time of one file's parse in a reader process (music21's formats), after
        which the process is killed and the file rejected.
    memory_mb
        Address space a reader process (music21's formats) may add to what it starts
        with: past it the parse fails and only its file is rejected.
    """

    max_bytes: int = 64 * MIB
    max_notes: int = 1_000_000
    max_tracks: int = 256
    max_ticks: int = 2_000_000
    max_seconds: float = 4 * 3600.0
    min_qpm: float = 1.0
    max_qpm: float = 2000.0
    parse_seconds: float = 120.0
    memory_mb: int = 4096

    def __post_init__(self) -> None:
        positive(self, "max_bytes", "max_notes", "max_tracks", "max_ticks", "max_seconds")
        positive(self, "min_qpm", "max_qpm", "parse_seconds", "memory_mb")
        if self.min_qpm > self.max_qpm:
            from scorelab.errors import ParamsError

            raise ParamsError(f"min_qpm ({self.min_qpm}) is above max_qpm ({self.max_qpm})")

    def tempo_problem(self, qpm: float) -> str | None:
        """Why a stated tempo is refused (not finite, not positive, outside the range), or None."""
        if not math.isfinite(qpm) or qpm <= 0:
            return f"tempo {qpm} qpm is not a finite positive number"
        if not self.min_qpm <= qpm <= self.max_qpm:
            return (
                f"tempo {qpm:.6g} qpm is outside limits.min_qpm-max_qpm ({self.min_qpm:g}-{self.max_qpm:g})"
            )
        return None

    def piece_problem(self, notes: int, tracks: int, ticks: int, seconds: float) -> str | None:
        """The first limit a piece of this size passes, named, or None."""
        if notes > self.max_notes:
            return f"{notes} notes, over limits.max_notes ({self.max_notes})"
        if tracks > self.max_tracks:
            return f"{tracks} tracks, over limits.max_tracks ({self.max_tracks})"
        if ticks > self.max_ticks:
            return f"{ticks} ticks long, over limits.max_ticks ({self.max_ticks})"
        if not seconds <= self.max_seconds:  # NaN too
            return f"{seconds:.6g} s long, over limits.max_seconds ({self.max_seconds:g})"
        return None


DEFAULT_LIMITS = ReadLimits()


def signature_problem(numerator: int, denominator: int) -> str | None:
    """Why a time signature is refused (a field that is not positive), or None."""
    if numerator <= 0 or denominator <= 0:
        return f"time signature {numerator}/{denominator} has a field that is not positive"
    return None


def read_bounded(path, limits: ReadLimits = DEFAULT_LIMITS) -> bytes:
    """A regular file's bytes, refused before reading when it is over ``limits.max_bytes``.

    Opens without following a final symlink and without blocking on a FIFO, then checks
    from the open descriptor that it is a regular file: a FIFO or a device named ``.mid``
    is refused instead of hanging the reader or reading forever (``/dev/zero``). At most
    ``max_bytes + 1`` bytes are read, so a file that grows while it is read is refused too.

    Raises
    ------
    OSError
        Not a regular file, a symlink, unreadable, or over the limit (the message says
        which; callers name the file).
    """
    import errno
    import os
    import stat

    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise OSError(err.errno, "a symlink (only regular files inside the folder are read)") from err
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"not a regular file (mode {stat.filemode(st.st_mode)})")
        if st.st_size > limits.max_bytes:
            raise OSError(f"{st.st_size} bytes, over limits.max_bytes ({limits.max_bytes})")
        # os.read on the descriptor, not a file object over it: a corpus reads tens of
        # thousands of small files, and the buffered reader cost twice the read itself
        chunks, size = [], 0
        while size <= limits.max_bytes:
            want = st.st_size + 1 if not chunks else 1 << 20  # a file that grew: on, up to the limit
            chunk = os.read(fd, min(want, limits.max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(fd)
    if len(data) > limits.max_bytes:
        raise OSError(f"over limits.max_bytes ({limits.max_bytes}) while read")
    return data
