"""Hostile input files, generated here (issue 22): each class of what was found, small.

Every function writes into a folder and returns ``{file name: the words its rejection
must contain}``; the files a reader must keep are written by :func:`write_valid`.
"""

from __future__ import annotations

import os
import random
import zipfile
from pathlib import Path

from scorelab.io.midi import write_midi
from scorelab.score import Score, Track

MIB = 1 << 20


def vlq(n: int) -> bytes:
    """A MIDI variable-length quantity (at most 0x0FFFFFFF)."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def smf(tracks: list[bytes], tpq: int = 96, fmt: int = 1) -> bytes:
    """A Standard MIDI file from track bodies (each gets its end-of-track event)."""
    head = b"MThd" + (6).to_bytes(4, "big") + fmt.to_bytes(2, "big") + len(tracks).to_bytes(2, "big")
    head += tpq.to_bytes(2, "big")
    body = b""
    for t in tracks:
        t = t + b"\x00\xff\x2f\x00"
        body += b"MTrk" + len(t).to_bytes(4, "big") + t
    return head + body


def note(pitch: int = 60, length: int = 96) -> bytes:
    return b"\x00\x90" + bytes([pitch, 100]) + vlq(length) + b"\x80" + bytes([pitch, 0])


def write_valid(folder: Path, n: int = 4) -> list[str]:
    """``n`` ordinary two-track pieces a reader must keep; their file names."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(n):
        rows = [(0, 60 + i, 0, 24), (0, 64, 24, 12 + i), (1, 40, 0, 48), (0, 67, 48, 24)]
        s = Score.from_notes(rows, tracks=[Track("a", 1), Track("b", 33)], tempo=90.0 + 10 * i)
        write_midi(s, folder / f"valid{i}.mid")
        names.append(f"valid{i}.mid")
    return names


def write_midi_classes(folder: Path) -> dict[str, str]:
    """The MIDI classes: tiny-but-huge, many tracks, wrapped ticks, bad stated values."""
    folder.mkdir(parents=True, exist_ok=True)
    cases = {
        # 37 bytes: tpq 1, one note of 2^28 - 1 ticks (6.4e9 ticks at 24 per quarter)
        "huge_length.mid": (smf([note(60, 0x0FFFFFFF)], tpq=1, fmt=0), "limits.max_ticks"),
        # 5,000 one-note tracks
        "many_tracks.mid": (smf([note(60 + i % 12, 24) for i in range(5000)]), "limits.max_tracks"),
        # nine deltas of 2^28 - 1 pass int32: times wrap to negative values
        "wrapped_ticks.mid": (
            smf([b"".join(vlq(0x0FFFFFFF) + b"\xff\x01\x01x" for _ in range(9)) + note()]),
            "onset must be >= 0",
        ),
        "zero_signature.mid": (smf([b"\x00\xff\x58\x04\x00\x02\x18\x08" + note()]), "time signature 0/"),
        "zero_tempo.mid": (smf([b"\x00\xff\x51\x03\x00\x00\x00" + note()]), "tempo"),
        "fast_tempo.mid": (smf([b"\x00\xff\x51\x03\x00\x00\x01" + note()]), "limits.min_qpm"),
        "short_tempo_event.mid": (smf([note() + b"\x00\xff\x51\x00"]), "tempo event of length 0"),
        "type2.mid": (smf([note(), note()], fmt=2), "type 2"),
    }
    for name, (data, _) in cases.items():
        (folder / name).write_bytes(data)
    return {name: why for name, (_, why) in cases.items()}


def write_mutants(folder: Path, template: bytes, n: int = 300, seed: int = 0) -> list[str]:
    """``n`` mutants of a valid MIDI file from a fixed seed: flipped, inserted and deleted
    bytes, truncations, int32-sized deltas; their file names."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for k in range(n):
        data = bytearray(template)
        for _ in range(rng.randint(1, 8)):
            if len(data) < 16:
                break
            op = rng.random()
            i = rng.randrange(len(data))
            if op < 0.4:
                data[i] = rng.randrange(256)
            elif op < 0.6:
                data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
            elif op < 0.75:
                del data[i : i + rng.randint(1, 4)]
            elif op < 0.85:
                data[i : i + 4] = b"\x8f\xff\xff\x7f"  # a huge delta
            else:
                del data[rng.randrange(14, len(data)) :]
        name = f"mutant{k:03d}.mid"
        (folder / name).write_bytes(bytes(data))
        names.append(name)
    return names


def write_file_system_classes(folder: Path, outside: Path) -> dict[str, str]:
    """FIFO, symlinks out and to /dev/zero, a name that is not UTF-8, case collisions,
    a deep folder; ``{name as listed: the words of its rejection}`` for the refused ones."""
    folder.mkdir(parents=True, exist_ok=True)
    outside.mkdir(parents=True, exist_ok=True)
    write_midi(Score.from_notes([(0, 72, 0, 24)], tracks=[Track("x")]), outside / "secret.mid")
    os.mkfifo(folder / "pipe.mid")
    (folder / "link_out.mid").symlink_to(outside / "secret.mid")
    (folder / "zero.mid").symlink_to("/dev/zero")
    bad = os.path.join(os.fsencode(folder), b"bad_\xff_name.mid")
    fd = os.open(bad, os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, (folder / "link_out.mid").resolve().read_bytes())
    os.close(fd)
    return {
        "pipe.mid": "a FIFO",
        "link_out.mid": "a symlink",
        "zero.mid": "a symlink",
        "bad_\\xff_name.mid": "not valid UTF-8",
    }


def write_collisions_and_depth(folder: Path, depth: int = 1200) -> list[str]:
    """Files whose naive ids collide, and one 1,200 folders down; all must be kept."""
    folder.mkdir(parents=True, exist_ok=True)
    one = Score.from_notes([(0, 60, 0, 24), (0, 62, 24, 24)], tracks=[Track("x")])
    write_midi(one, folder / "Song.mid")
    write_midi(one, folder / "Song.MID")
    (folder / "x").mkdir()
    write_midi(one, folder / "x" / "y.mid")
    write_midi(one, folder / "x__y.mid")
    deep = folder
    for _ in range(depth):  # one by one: os.makedirs recurses, and fails at this depth
        deep = deep / "d"
        deep.mkdir()
    write_midi(one, deep / "bottom.mid")
    return ["Song.mid", "Song.MID", "x/y.mid", "x__y.mid", "bottom.mid"]


def remove_deep(folder: Path) -> None:
    """Delete a tree of any depth without recursion (``shutil.rmtree`` and Python 3.11's
    ``os.walk`` recurse, and raised RecursionError on the 1,200-level folder, also in
    pytest's own cleanup of old temporary folders)."""
    if not os.path.lexists(folder):
        return
    stack, order = [os.fspath(folder)], []
    while stack:
        path = stack.pop()
        order.append(path)
        with os.scandir(path) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    os.unlink(entry.path)
    for path in reversed(order):  # children were listed after their parents
        os.rmdir(path)


def write_music21_classes(folder: Path, outside_abc: Path) -> dict[str, str]:
    """Path-as-content ABC, an empty ABC, an .mxl zip bomb, a spine bomb and a huge ABC tune."""
    folder.mkdir(parents=True, exist_ok=True)
    outside_abc.parent.mkdir(parents=True, exist_ok=True)
    outside_abc.write_text("X:1\nT:outside\nM:4/4\nL:1/4\nK:C\nC D E F | G4 |]\n")
    (folder / "path_as_content.abc").write_text(str(outside_abc))
    (folder / "empty.abc").write_text("")
    with zipfile.ZipFile(folder / "bomb.mxl", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("META-INF/container.xml", "<container/>")
        zf.writestr("score.xml", b" " * (80 * MIB))  # 80 MiB of spaces, about 80 KB packed
    lines = ["**kern"] + ["\t".join(["*^"] * (2**k)) for k in range(9)]
    lines += ["\t".join(["4c"] * 512)] * 200 + ["\t".join(["*-"] * 512)]
    (folder / "spines.krn").write_text("\n".join(lines) + "\n")
    tune = "X:1\nT:huge\nM:4/4\nL:1/16\nK:C\n" + " ".join(["CDEF GABc dcBA GFED |"] * 95000) + "]\n"  # 2 MB
    (folder / "huge_tune.abc").write_text(tune)
    return {
        "path_as_content.abc": "",  # any reason: it must be read as ABC text, not as a path
        "empty.abc": "",
        "bomb.mxl": "limits.max_bytes",
        "spines.krn": "",  # stopped by a limit (time or memory), or unreadable: not kept
        "huge_tune.abc": "",
    }
