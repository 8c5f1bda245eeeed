"""A SoundFont 2 sample player in NumPy: what scorelab needs to hear a Score, and no more.

Why our own: the renderer must install from ``pyproject.toml`` alone and give the same
bytes for the same Score. TinySoundFont's Python package requires PyAudio (live playback
only), which has no Linux wheel and does not build without PortAudio's headers; symusic
0.6.0's synthesizer fails on every call ("Unable to convert function return value", its
Eigen return type); FluidSynth is a system library. A sample player is small: parse the
RIFF file, pick each note's zones, resample, shape, pan, add.

What it plays (SoundFont 2.04 specification, sections 7 and 8):

* presets by (bank, program), drums on bank 128; the global zone of a preset and of an
  instrument gives defaults that a local zone overrides; preset generators add to the
  instrument's (ranges, sample, sample modes, root key and address offsets are the
  instrument's alone);
* per zone: key and velocity range, sample with its address and loop offsets (fine and
  coarse), loop modes 0 (none), 1 (continuous) and 3 (loop while held, then play to the
  end), root key (the sample's or ``overridingRootKey``), coarse and fine tune, the
  sample's pitch correction, ``scaleTuning``, ``initialAttenuation`` and ``pan``;
* the volume envelope: delay, linear attack, hold, decay and release as straight lines in
  decibels (an exponential in amplitude, as the specification and every player do),
  ``sustainVolEnv`` as attenuation below the peak, ``keynumToVolEnvHold/Decay``;
* velocity as the specification's default modulator: 40 log10(127 / velocity) dB less
  (amplitude proportional to velocity squared);
* linear interpolation between sample points.

Not played, on purpose (each changes timbre, not which notes sound or when): the
modulation envelope and LFOs, vibrato, the low-pass filter, chorus and reverb, exclusive
classes, modulators other than the velocity one. A voice ends when its envelope is 100 dB
down or its sample (not looping) runs out.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scorelab.errors import CorpusReadError

DRUM_BANK = 128
SILENCE_DB = 100.0  # a voice is over once its envelope is this far down
ENVELOPE_STEP = 16  # frames between the envelope's computed points (0.7 ms at 22.05 kHz)
MAX_SOUNDFONT_BYTES = 256 * 2**20  # the bundled one is 5.7 MiB; GM sets reach ~150 MiB

# Generator numbers (SoundFont 2.04, section 8.1.2)
START_OFFSET, END_OFFSET, LOOP_START_OFFSET, LOOP_END_OFFSET = 0, 1, 2, 3
START_COARSE, END_COARSE, LOOP_START_COARSE, LOOP_END_COARSE = 4, 12, 45, 50
PAN = 17
DELAY_VOL, ATTACK_VOL, HOLD_VOL, DECAY_VOL, SUSTAIN_VOL, RELEASE_VOL = 33, 34, 35, 36, 37, 38
KEY_TO_HOLD, KEY_TO_DECAY = 39, 40
INSTRUMENT, KEY_RANGE, VEL_RANGE = 41, 43, 44
ATTENUATION, COARSE_TUNE, FINE_TUNE, SAMPLE_ID, SAMPLE_MODES = 48, 51, 52, 53, 54
SCALE_TUNING, ROOT_KEY = 56, 58
N_GENERATORS = 61
RANGES = (KEY_RANGE, VEL_RANGE)
# Generators a preset zone may not set (spec 8.1.3: instrument-only, or the link itself)
INSTRUMENT_ONLY = frozenset(
    {
        START_OFFSET, END_OFFSET, LOOP_START_OFFSET, LOOP_END_OFFSET,
        START_COARSE, END_COARSE, LOOP_START_COARSE, LOOP_END_COARSE,
        SAMPLE_ID, SAMPLE_MODES, 57, ROOT_KEY, 46, 47,  # 57 exclusiveClass, 46/47 keynum, velocity
    }
)  # fmt: skip


def _defaults() -> np.ndarray:
    """Generator defaults (spec 8.1.3): envelopes at -12000 timecents (1 ms), full ranges."""
    g = np.zeros(N_GENERATORS, np.int32)
    g[[DELAY_VOL, ATTACK_VOL, HOLD_VOL, DECAY_VOL, RELEASE_VOL]] = -12000
    g[[25, 26, 27, 28, 30]] = -12000  # the modulation envelope's (kept for completeness)
    g[8] = 13500  # initialFilterFc
    g[SCALE_TUNING] = 100
    g[ROOT_KEY] = -1
    g[[46, 47]] = -1
    g[KEY_RANGE] = 127 << 8  # lo 0, hi 127: ranges are stored as two bytes
    g[VEL_RANGE] = 127 << 8
    return g


@dataclass(frozen=True)
class Sample:
    """One ``shdr`` record: absolute frame addresses into the ``smpl`` chunk."""

    start: int
    end: int
    loop_start: int
    loop_end: int
    rate: int
    root: int
    correction: int  # cents


@dataclass(frozen=True)
class Zone:
    """An instrument zone with its preset zone's generators added: everything one voice needs."""

    lo_key: int
    hi_key: int
    lo_vel: int
    hi_vel: int
    gens: tuple[int, ...]  # N_GENERATORS values, preset amounts already added
    sample: Sample


def _records(blob: bytes, fmt: str, where: str) -> list[tuple]:
    size = struct.calcsize(fmt)
    if len(blob) % size or len(blob) < 2 * size:
        raise CorpusReadError(f"{where}: {len(blob)} bytes is not a list of {size}-byte records")
    return list(struct.iter_unpack(fmt, blob))


def _chunks(data: bytes, start: int, end: int, where: str) -> dict[str, tuple[int, int]]:
    """``{id: (offset, size)}`` of the RIFF chunks between ``start`` and ``end``; LISTs by type."""
    out: dict[str, tuple[int, int]] = {}
    pos = start
    while pos + 8 <= end:
        cid, size = struct.unpack_from("<4sI", data, pos)
        body = pos + 8
        if body + size > end:
            raise CorpusReadError(f"{where}: chunk {cid!r} runs past the end of the file")
        key = cid.decode("latin-1")
        if key == "LIST" and size >= 4:
            key = "LIST:" + data[body : body + 4].decode("latin-1")
        out.setdefault(key, (body, size))
        pos = body + size + (size & 1)
    return out


class SoundFont:
    """A parsed SoundFont 2 file: its 16-bit samples and every preset's voice zones.

    Raises
    ------
    CorpusReadError
        Naming the file, when it is not a SoundFont 2 file, is too large, or its records
        point outside their tables.
    """

    def __init__(self, path: Path | str):
        path = Path(path)
        where = str(path)
        if not path.is_file():
            raise CorpusReadError(f"{where}: not a regular file")
        if path.stat().st_size > MAX_SOUNDFONT_BYTES:
            raise CorpusReadError(f"{where}: larger than {MAX_SOUNDFONT_BYTES} bytes")
        data = path.read_bytes()
        if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"sfbk":
            raise CorpusReadError(f"{where}: not a SoundFont 2 file (no RIFF sfbk header)")
        top = _chunks(data, 12, min(len(data), 8 + struct.unpack_from("<I", data, 4)[0]), where)
        try:
            sdta, pdta = top["LIST:sdta"], top["LIST:pdta"]
        except KeyError as e:
            raise CorpusReadError(f"{where}: missing the {e.args[0][5:]} list") from None
        smpl = _chunks(data, sdta[0] + 4, sdta[0] + sdta[1], where).get("smpl")
        if smpl is None:
            raise CorpusReadError(f"{where}: no smpl chunk (16-bit samples)")
        # float32 in [-1, 1): every voice reads it, so convert once
        self.samples = np.frombuffer(data, "<i2", smpl[1] // 2, smpl[0]).astype(np.float32) / 32768.0
        hydra = _chunks(data, pdta[0] + 4, pdta[0] + pdta[1], where)

        def table(name: str, fmt: str) -> list[tuple]:
            if name not in hydra:
                raise CorpusReadError(f"{where}: no {name} chunk")
            off, size = hydra[name]
            return _records(data[off : off + size], fmt, f"{where} ({name})")

        phdr = table("phdr", "<20sHHHIII")
        pbag, ibag = table("pbag", "<HH"), table("ibag", "<HH")
        pgen, igen = table("pgen", "<Hh"), table("igen", "<Hh")
        inst = table("inst", "<20sH")
        shdr = table("shdr", "<20sIIIIIBbHH")
        n = len(self.samples)
        self._shdr = [
            Sample(s, e, ls, le, max(rate, 1), pitch if pitch <= 127 else 60, corr)
            for _, s, e, ls, le, rate, pitch, corr, _, _ in shdr[:-1]
        ]
        if any(not 0 <= s.start <= s.end <= n for s in self._shdr):
            raise CorpusReadError(f"{where}: a sample's addresses lie outside the smpl chunk")
        self._where = where
        self._pbag, self._ibag, self._pgen, self._igen, self._inst = pbag, ibag, pgen, igen, inst
        self.presets: dict[tuple[int, int], list[Zone]] = {}
        for i, rec in enumerate(phdr[:-1]):
            key = (rec[2], rec[1])  # (bank, program)
            if key not in self.presets:
                self.presets[key] = self._preset_zones(rec[3], phdr[i + 1][3])

    def _gens(self, bags, gens, first: int, last: int, terminal: int):
        """Zones of bags ``[first, last)``: (generator dict, terminal index or None), the
        global zone (no terminal generator, first only) folded into the others."""
        if not 0 <= first <= last < len(bags):
            raise CorpusReadError(f"{self._where}: a zone list points outside its bag table")
        zones, global_zone = [], {}
        for b in range(first, last):
            g0, g1 = bags[b][0], bags[b + 1][0]
            if not 0 <= g0 <= g1 <= len(gens):
                raise CorpusReadError(f"{self._where}: a zone points outside its generator table")
            amounts = {}
            for oper, amount in gens[g0:g1]:
                if oper < N_GENERATORS:
                    amounts[oper] = amount & 0xFFFF if oper in RANGES else amount
            if terminal in amounts:
                zones.append({**global_zone, **amounts})
            elif b == first:
                global_zone = amounts
        return zones

    def _preset_zones(self, first: int, last: int) -> list[Zone]:
        out = []
        for pz in self._gens(self._pbag, self._pgen, first, last, INSTRUMENT):
            ii = pz[INSTRUMENT]
            if not 0 <= ii < len(self._inst) - 1:
                raise CorpusReadError(f"{self._where}: a preset names instrument {ii}, which does not exist")
            izones = self._gens(self._ibag, self._igen, self._inst[ii][1], self._inst[ii + 1][1], SAMPLE_ID)
            for iz in izones:
                si = iz[SAMPLE_ID]
                if not 0 <= si < len(self._shdr):
                    raise CorpusReadError(f"{self._where}: a zone names sample {si}, which does not exist")
                g = _defaults()
                for oper, amount in iz.items():
                    g[oper] = amount
                for oper, amount in pz.items():
                    if oper not in INSTRUMENT_ONLY and oper not in RANGES and oper != INSTRUMENT:
                        g[oper] += amount
                # a voice sounds where both the preset's and the instrument's ranges allow
                ranges = [
                    (max(g[r] & 0xFF, pz.get(r, 127 << 8) & 0xFF), min(g[r] >> 8, pz.get(r, 127 << 8) >> 8))
                    for r in RANGES
                ]
                (lk, hk), (lv, hv) = [(int(lo), int(hi)) for lo, hi in ranges]
                out.append(Zone(lk, hk, lv, hv, tuple(int(x) for x in g), self._shdr[si]))
        return out

    def zones(self, bank: int, program: int, key: int, velocity: int) -> list[Zone]:
        """The zones that sound ``key`` at ``velocity`` on (bank, program); a missing
        preset falls back to program 0 of its bank, then to bank 0's."""
        preset = self.presets.get((bank, program)) or self.presets.get((bank, 0))
        if preset is None:
            preset = self.presets.get((0, program)) or self.presets.get((0, 0)) or []
        return [z for z in preset if z.lo_key <= key <= z.hi_key and z.lo_vel <= velocity <= z.hi_vel]


def _seconds(timecents: int) -> float:
    """Timecents -> seconds (spec 8.1.3: 2^(tc/1200); -12000 is about 1 ms, -32768 is 0)."""
    return 0.0 if timecents <= -32768 else 2.0 ** (timecents / 1200.0)


def _addresses(z: Zone) -> tuple[int, int, int, int, int, bool]:
    """(start, end, loop start, loop end, mode, loops) in frames of the smpl chunk."""
    g, s = z.gens, z.sample
    start = max(s.start + g[START_OFFSET] + 32768 * g[START_COARSE], 0)
    end = max(s.end + g[END_OFFSET] + 32768 * g[END_COARSE], 0)
    loop_start = s.loop_start + g[LOOP_START_OFFSET] + 32768 * g[LOOP_START_COARSE]
    loop_end = s.loop_end + g[LOOP_END_OFFSET] + 32768 * g[LOOP_END_COARSE]
    mode = g[SAMPLE_MODES] & 3
    loops = mode in (1, 3) and start <= loop_start < loop_end <= end and loop_end - loop_start >= 1
    return start, end, loop_start, loop_end, mode, loops


def _positions(z: Zone, n: int, ratio: float, held: int) -> np.ndarray:
    """Fractional sample addresses of a voice's ``n`` output frames (``held`` of them before
    the note-off), looped as the zone's sample mode says; past the sample's end: -1."""
    start, end, loop_start, loop_end, mode, loops = _addresses(z)
    pos = start + np.arange(n, dtype=np.float64) * ratio
    if loops:
        span = loop_end - loop_start
        stop = n if mode == 1 else min(held, n)  # mode 3: the loop holds only while the key does
        head = pos[:stop]
        head[...] = np.where(head < loop_end, head, loop_start + np.mod(head - loop_start, span))
        if stop < n:  # after the note-off, play on from where the loop was
            phase = pos[stop - 1] if stop else start
            pos[stop:] = phase + np.arange(1, n - stop + 1) * ratio
    pos[pos >= end] = -1.0  # looped frames stay below loop_end <= end: never cut here
    return pos


def _envelope_times(g, key: int, rate: int) -> tuple[float, float, float, float, float, float]:
    """(delay, attack, hold, decay, release) in frames and the sustain level in dB down."""
    delay = _seconds(g[DELAY_VOL]) * rate
    attack = _seconds(g[ATTACK_VOL]) * rate
    hold = _seconds(g[HOLD_VOL] + g[KEY_TO_HOLD] * (60 - key)) * rate
    decay = max(_seconds(g[DECAY_VOL] + g[KEY_TO_DECAY] * (60 - key)) * rate, 1.0)
    release = max(_seconds(g[RELEASE_VOL]) * rate, 1.0)
    sustain_db = min(max(g[SUSTAIN_VOL], 0), 1440) / 10.0
    return delay, attack, hold, decay, release, sustain_db


def _held_db(t, delay: float, attack: float, hold: float, decay: float, sustain_db: float):
    """Attenuation in dB below the peak, ``t`` frames after the note-on, while the key is held."""
    after = np.asarray(t, dtype=np.float64) - delay - attack - hold
    return np.where(after > 0, np.minimum(after * SILENCE_DB / decay, sustain_db), 0.0)


def voice_frames(z: Zone, key: int, held: int, rate: int) -> int:
    """How many frames a voice sounds before its envelope is ``SILENCE_DB`` down, or
    (not looping) its sample has run out: an upper bound, to schedule voices before
    computing any."""
    delay, attack, hold, decay, release, sustain_db = _envelope_times(z.gens, key, rate)
    db_off = float(_held_db(held, delay, attack, hold, decay, sustain_db))
    n = held + math.ceil(max(SILENCE_DB - db_off, 0.0) * release / SILENCE_DB)
    start, end, loop_start, _, mode, loops = _addresses(z)
    ratio = _ratio(z, key, rate)
    if not loops:
        n = min(n, math.ceil((end - start) / ratio) + 1)
    elif mode == 3:
        n = min(n, held + math.ceil((end - loop_start) / ratio) + 1)
    return max(n, 0)


def _envelope(g, key: int, rate: int, held: int, n: int) -> np.ndarray:
    """The volume envelope's first ``n`` frames, as amplitude.

    Delay, attack (linear in amplitude), hold, then decay as a straight line in dB that
    would fall 100 dB in ``decayVolEnv`` and stops at the sustain level; at the note-off
    (``held`` frames) the release falls from wherever it is at 100 dB per ``releaseVolEnv``.
    """
    delay, attack, hold, decay, release, sustain_db = _envelope_times(g, key, rate)

    def attack_gain(t: np.ndarray) -> np.ndarray:
        return np.clip((t - delay) / attack, 0.0, 1.0) if attack > 0 else (t >= delay).astype(np.float64)

    db_off = float(_held_db(held, delay, attack, hold, decay, sustain_db))
    gain_off = float(attack_gain(np.array([float(held)]))[0])
    # at control points every ENVELOPE_STEP frames, straight lines between (as players
    # update envelopes per block): the power below is then paid once per step, not per frame
    t = np.append(np.arange(0, n, ENVELOPE_STEP, dtype=np.float64), float(n - 1))
    db = _held_db(t, delay, attack, hold, decay, sustain_db)
    gain = attack_gain(t)
    after = t >= held
    db[after] = db_off + (t[after] - held) * SILENCE_DB / release
    gain[after] = gain_off
    env = gain * 10.0 ** (-db / 20.0)
    return np.interp(np.arange(n, dtype=np.float64), t, env).astype(np.float32)


def _ratio(z: Zone, key: int, rate: int) -> float:
    """Sample frames per output frame: 2^(cents / 1200) times the two rates' ratio."""
    g, s = z.gens, z.sample
    root = g[ROOT_KEY] if 0 <= g[ROOT_KEY] <= 127 else s.root
    cents = (key - root) * g[SCALE_TUNING] + 100 * g[COARSE_TUNE] + g[FINE_TUNE] + s.correction
    return 2.0 ** (cents / 1200.0) * s.rate / rate


def voice(
    font: SoundFont, z: Zone, key: int, velocity: int, held: int, rate: int, frames: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One zone sounding ``key`` for ``held`` frames and its release, (left, right) float32:
    :func:`voice_frames` long, or its first ``frames`` (a voice cut short by a newer one)."""
    g = z.gens
    n = voice_frames(z, key, held, rate) if frames is None else frames
    env = _envelope(g, key, rate, held, n) if n else np.zeros(0, np.float32)
    pos = _positions(z, n, _ratio(z, key, rate), held)
    live = pos >= 0
    if not live.all():  # the sample ran out: the voice ends there
        n = int(np.argmin(live))
        pos, env = pos[:n], env[:n]
    base = pos.astype(np.int64)  # pos >= 0 here: truncation is the floor
    frac = (pos - base).astype(np.float32)
    a = font.samples[base]
    x = a + (font.samples[np.minimum(base + 1, len(font.samples) - 1)] - a) * frac
    att_db = max(g[ATTENUATION], 0) / 10.0 + 40.0 * math.log10(127.0 / max(velocity, 1))
    x *= env
    x *= np.float32(10.0 ** (-att_db / 20.0))
    pan = min(max(g[PAN], -500), 500) / 1000.0 + 0.5  # 0 left, 1 right
    return x * np.float32(math.cos(pan * math.pi / 2)), x * np.float32(math.sin(pan * math.pi / 2))
