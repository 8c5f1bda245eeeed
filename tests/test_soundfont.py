"""scorelab's SoundFont 2 player, on a soundfont the test writes byte by byte.

The test font holds one sample: a 441 Hz sine at 44.1 kHz (a period of exactly 100
frames), looped over frames 100-900, root key 69. Every expected value below follows
from the SoundFont 2.04 specification by hand: pitch ratio 2^(cents/1200), velocity
40 log10(127/v) dB, release 100 dB per releaseVolEnv seconds, equal-power pan.
"""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from scorelab.errors import CorpusReadError
from scorelab.io import soundfont as sf
from scorelab.io.audio import soundfont_path
from scorelab.io.soundfont import SoundFont, voice

RATE = 44100
SINE = np.round(20000 * np.sin(2 * np.pi * np.arange(1000) / 100)).astype("<i2")
LOOP = (100, 900)
CENTRE = math.cos(math.pi / 4)  # pan 0: equal power


def chunk(cid: bytes, body: bytes) -> bytes:
    return cid + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def riff_list(kind: bytes, *chunks: bytes) -> bytes:
    return chunk(b"LIST", kind + b"".join(chunks))


def write_font(path, *, inst_gens=(), preset_gens=(), modes=1, samples=SINE, loop=LOOP, sample_end=None):
    """One preset (bank 0, program 0) -> one instrument -> one zone -> the sine.

    ``inst_gens``/``preset_gens``: (generator, amount) pairs before the terminal one.
    """
    end = len(samples) if sample_end is None else sample_end
    gens_i = [*inst_gens, (sf.SAMPLE_MODES, modes), (sf.SAMPLE_ID, 0)]
    gens_p = [*preset_gens, (sf.INSTRUMENT, 0)]

    def gen_bytes(gens):
        return b"".join(struct.pack("<HH", g, a & 0xFFFF) for g, a in [*gens, (0, 0)])

    pdta = riff_list(
        b"pdta",
        chunk(
            b"phdr",
            struct.pack("<20sHHHIII", b"test", 0, 0, 0, 0, 0, 0)
            + struct.pack("<20sHHHIII", b"EOP", 0, 0, 1, 0, 0, 0),
        ),
        chunk(b"pbag", struct.pack("<HH", 0, 0) + struct.pack("<HH", len(gens_p), 0)),
        chunk(b"pmod", bytes(10)),
        chunk(b"pgen", gen_bytes(gens_p)),
        chunk(b"inst", struct.pack("<20sH", b"sine", 0) + struct.pack("<20sH", b"EOI", 1)),
        chunk(b"ibag", struct.pack("<HH", 0, 0) + struct.pack("<HH", len(gens_i), 0)),
        chunk(b"imod", bytes(10)),
        chunk(b"igen", gen_bytes(gens_i)),
        chunk(
            b"shdr",
            struct.pack("<20sIIIIIBbHH", b"sine", 0, end, *loop, RATE, 69, 0, 0, 1)
            + struct.pack("<20sIIIIIBbHH", b"EOS", 0, 0, 0, 0, 0, 0, 0, 0, 0),
        ),
    )
    sdta = riff_list(b"sdta", chunk(b"smpl", np.asarray(samples, "<i2").tobytes()))
    info = riff_list(b"INFO", chunk(b"ifil", struct.pack("<HH", 2, 1)))
    body = b"sfbk" + info + sdta + pdta
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


# attack 0 (-32768 timecents), release 1 s (0 timecents): every other envelope segment default
INSTANT = ((sf.ATTACK_VOL, -32768), (sf.DELAY_VOL, -32768), (sf.HOLD_VOL, -32768), (sf.RELEASE_VOL, 0))


def play(tmp_path, key=69, velocity=127, held=2000, **kw):
    font = SoundFont(write_font(tmp_path / "t.sf2", inst_gens=kw.pop("inst_gens", INSTANT), **kw))
    zones = font.zones(0, 0, key, velocity)
    assert len(zones) == 1
    return voice(font, zones[0], key, velocity, held, RATE)


def looped(positions):
    """The sine's value at integer sample positions, wrapped into the loop as the player does."""
    p = np.asarray(positions)
    p = np.where(p >= LOOP[1], LOOP[0] + (p - LOOP[0]) % (LOOP[1] - LOOP[0]), p)
    return SINE[p] / 32768.0


def test_root_key_plays_the_sample_as_written_and_loops(tmp_path):
    left, right = play(tmp_path)
    k = np.arange(2000)
    np.testing.assert_allclose(left[:2000], looped(k) * CENTRE, atol=2e-3)  # envelope steps: < 0.2 %
    np.testing.assert_array_equal(left, right)


def test_an_octave_up_reads_every_second_frame(tmp_path):
    left, _ = play(tmp_path, key=81)
    np.testing.assert_allclose(left[:2000], looped(2 * np.arange(2000)) * CENTRE, atol=2e-3)


def test_a_fifth_up_interpolates_at_the_equal_tempered_ratio(tmp_path):
    left, _ = play(tmp_path, key=76, held=40000)
    spectrum = np.abs(np.fft.rfft(left[:32768] * np.hanning(32768), 1 << 20))
    assert np.argmax(spectrum) * RATE / (1 << 20) == pytest.approx(441 * 2 ** (7 / 12), abs=0.1)


def test_release_falls_100_db_per_release_time(tmp_path):
    held = 4410
    left, _ = play(tmp_path, held=held)
    assert len(left) == held + RATE  # from 0 dB to -100 dB in releaseVolEnv = 1 s
    for seconds, db in [(0.2, 20), (0.5, 50)]:
        at = held + int(seconds * RATE)
        window = np.abs(left[at - 50 : at + 50]).max()  # one period around the point
        assert 20 * math.log10(window / (20000 / 32768 * CENTRE)) == pytest.approx(-db, abs=0.2)


def test_velocity_and_attenuation_in_decibels(tmp_path):
    full, _ = play(tmp_path)
    soft, _ = play(tmp_path, velocity=64)
    assert 20 * math.log10(np.abs(soft[:2000]).max() / np.abs(full[:2000]).max()) == pytest.approx(
        -40 * math.log10(127 / 64), abs=0.01
    )
    quiet, _ = play(tmp_path, inst_gens=(*INSTANT, (sf.ATTENUATION, 60)))  # 60 centibels
    assert np.abs(quiet[:2000]).max() / np.abs(full[:2000]).max() == pytest.approx(10 ** (-6 / 20), rel=1e-3)


def test_pan_is_equal_power(tmp_path):
    left, right = play(tmp_path, inst_gens=(*INSTANT, (sf.PAN, 250)))  # a quarter to the right
    peak = 20000 / 32768
    assert np.abs(left[:2000]).max() == pytest.approx(peak * math.cos(0.75 * math.pi / 2), rel=1e-3)
    assert np.abs(right[:2000]).max() == pytest.approx(peak * math.sin(0.75 * math.pi / 2), rel=1e-3)


def test_preset_tuning_adds_to_the_instrument(tmp_path):
    # instrument +700 cents (coarse 5, fine 200), preset fine +500: an octave, 2 frames a frame
    gens = (*INSTANT, (sf.COARSE_TUNE, 5), (sf.FINE_TUNE, 200))
    left, _ = play(tmp_path, inst_gens=gens, preset_gens=((sf.FINE_TUNE, 500),))
    np.testing.assert_allclose(left[:2000], looped(2 * np.arange(2000)) * CENTRE, atol=2e-3)


def test_unlooped_sample_ends_the_voice(tmp_path):
    left, _ = play(tmp_path, modes=0, held=5000)
    assert len(left) == 1000  # the sample's 1,000 frames at ratio 1, then silence
    left, _ = play(tmp_path, modes=3, held=300)  # loop while held, then on to the end
    assert len(left) == 300 + (1000 - 300)


def test_key_and_velocity_ranges_choose_zones(tmp_path):
    path = write_font(
        tmp_path / "t.sf2", inst_gens=((sf.KEY_RANGE, 60 | 72 << 8), (sf.VEL_RANGE, 1 | 100 << 8))
    )
    font = SoundFont(path)
    assert len(font.zones(0, 0, 60, 100)) == 1
    assert font.zones(0, 0, 73, 100) == [] and font.zones(0, 0, 60, 101) == []
    assert len(font.zones(sf.DRUM_BANK, 5, 60, 100)) == 1  # no drum kit: bank 0's program 0


def test_bad_files_are_refused_by_name(tmp_path):
    (tmp_path / "x.sf2").write_bytes(b"RIFF\0\0\0\0WAVE")
    with pytest.raises(CorpusReadError, match=r"x\.sf2: not a SoundFont 2 file"):
        SoundFont(tmp_path / "x.sf2")
    write_font(tmp_path / "y.sf2", sample_end=5000)
    with pytest.raises(CorpusReadError, match=r"y\.sf2: a sample's addresses lie outside"):
        SoundFont(tmp_path / "y.sf2")
    good = write_font(tmp_path / "z.sf2").read_bytes()
    (tmp_path / "z.sf2").write_bytes(good[:-30])  # truncated inside the hydra
    with pytest.raises(CorpusReadError, match=r"z\.sf2"):
        SoundFont(tmp_path / "z.sf2")
    with pytest.raises(CorpusReadError, match="not a regular file"):
        SoundFont(tmp_path)


def test_the_bundled_general_midi_font():
    font = SoundFont(soundfont_path())
    assert all((0, p) in font.presets for p in range(128))
    assert (sf.DRUM_BANK, 0) in font.presets
    piano = font.zones(0, 0, 69, 100)
    assert piano and all(z.lo_key <= 69 <= z.hi_key for z in piano)
    left, right = voice(font, piano[0], 69, 100, 22050, 22050)
    spectrum = np.abs(np.fft.rfft(left[2000:10192] * np.hanning(8192), 1 << 18))
    assert np.argmax(spectrum) * 22050 / (1 << 18) == pytest.approx(440, abs=1)


def test_audio_needs_only_what_pyproject_declares(tmp_path):
    """A clean ``pip install .`` renders audio: every third-party module the renderer
    loads belongs to a distribution pyproject.toml declares (checked in a fresh process,
    so no other test's imports count), and the Makefile installs nothing beside it."""
    import subprocess
    import sys
    import tomllib
    from importlib.metadata import packages_distributions
    from pathlib import Path

    from packaging.utils import canonicalize_name

    root = Path(__file__).resolve().parents[1]
    code = (
        "import sys; before = set(sys.modules)\n"
        "from scorelab.io.audio import render_audio\n"
        "from scorelab.score import Score, Track\n"
        "score = Score.from_notes([(0, 60, 0, 24, 90)], tracks=[Track('p', 0)], tempo=120.0)\n"
        f"render_audio(score, {str(tmp_path / 'a.wav')!r})\n"
        "print(' '.join(sorted({m.split('.')[0] for m in set(sys.modules) - before})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.split()
    assert (tmp_path / "a.wav").stat().st_size > 44
    declared = _with_requirements(
        tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    )
    owners = packages_distributions()
    third_party = {m: owners[m] for m in loaded if m in owners and m not in sys.stdlib_module_names}
    assert third_party, "the renderer loaded no third-party module: the check would be empty"
    undeclared = {
        m: d
        for m, d in third_party.items()
        if m != "scorelab" and not {canonicalize_name(x) for x in d} & declared
    }
    assert not undeclared, f"audio imports modules pyproject.toml does not declare: {undeclared}"
    installs = [line for line in (root / "Makefile").read_text().splitlines() if "pip install" in line]
    assert all("--upgrade pip" in line or "-e '.[test]'" in line for line in installs), installs


def _with_requirements(specs: list[str]) -> set[str]:
    """The distributions ``specs`` name and every one they require for this interpreter
    (markers evaluated, extras left out), recursively: what pip installs for them."""
    from importlib.metadata import PackageNotFoundError, requires

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: set[str] = set()
    todo = [Requirement(s) for s in specs]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen or (req.marker is not None and not req.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        try:
            todo += [Requirement(r) for r in requires(name) or []]
        except PackageNotFoundError:
            continue
    return seen


def test_a_new_voice_beyond_the_limit_cuts_the_one_closest_to_its_end(monkeypatch):
    from scorelab.io import audio

    monkeypatch.setattr(audio, "MAX_VOICES", 2)
    plan = [[0, 100], [10, 50], [20, 100], [30, 10], [200, 10]]
    cut = audio._steal(plan, fade=5)
    # at 20: voices end at 100 and 60 -> the second goes, 5 frames after 20 (15 of its own)
    # at 30: 100 and 120 -> the first goes (35 frames); at 200 everything has ended
    assert cut == {0, 1}
    assert [row[1] for row in plan] == [35, 15, 100, 10, 10]


def test_a_dense_roll_renders_fast_and_a_chorale_is_never_cut(tmp_path, monkeypatch):
    """A generator that fills every cell (S3's noise-like GANs: 12,000 notes in 10 s)
    asks for thousands of voices at once: the cap keeps it to MAX_VOICES, and written
    music (four parts) is played whole."""
    from scorelab.io import audio
    from scorelab.score import Score, Track

    cuts = []
    real = audio._steal
    monkeypatch.setattr(audio, "_steal", lambda plan, fade: cuts.append(real(plan, fade)) or cuts[-1])
    chorale = Score.from_notes(
        [(t, 48 + 7 * t + (i % 3), 24 * i, 24, 80) for i in range(16) for t in range(4)],
        tracks=[Track(str(t), 0) for t in range(4)],
        tempo=100.0,
    )
    audio.synthesize(chorale, 8000)
    assert cuts[-1] == set()
    rows = [(0, p, o, 1, 100) for o in range(0, 120) for p in range(30, 100)]  # 8,400 notes
    dense = Score.from_notes(rows, tracks=[Track("all", 0)], tempo=600.0)
    x = audio.synthesize(dense, 8000)
    assert len(cuts[-1]) > 8000 and np.isfinite(x).all() and np.abs(x).max() == pytest.approx(0.9)
