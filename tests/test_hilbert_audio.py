"""S3's Hilbert-curve audio codec, WAV I/O and the reconstruction metrics, by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from scorelab.codecs import get_codec, load_codec
from scorelab.errors import ParamsError
from scorelab.io.audio import read_wav, write_wav
from scorelab.io.hilbert import encode_samples
from scorelab.metrics.audio import audio_stats, reconstruction, snr_db
from scorelab.score import Score, Track

RATE = 8000
SIDE = 32  # 1,024 samples an image: 0.128 s at 8 kHz


def score(piece_id: str = "p", seconds: float = 0.5) -> Score:
    ticks = int(seconds * 2 * 24)  # tempo 120: 2 beats a second, 24 ticks a beat
    rows = [(0, 60, 0, ticks // 2, 90), (0, 64, 0, ticks // 2, 70), (1, 48, ticks // 2, ticks // 2, 80)]
    return Score.from_notes(rows, tracks=[Track("rh", 0), Track("lh", 0)], tempo=120.0, piece_id=piece_id)


def codec(**kw):
    return get_codec("hilbert_audio", {"sample_rate": RATE, "side": SIDE, **kw})


def test_encode_then_decode_gives_the_rendered_samples_back_exactly():
    c = codec(max_images=0)
    s = score()
    pcm = c.render(s, 0)
    images = c.encode(s)
    assert images.dtype == np.uint16 and images.shape == (math.ceil(len(pcm) / SIDE**2), 1, SIDE, SIDE)
    back = c.decode(images)
    np.testing.assert_array_equal(back[: len(pcm)], pcm)
    assert not back[len(pcm) :].any()  # the last image padded with silence
    # stored uint16 / scale is exactly io.hilbert's float image
    np.testing.assert_array_equal(images[:, 0] / np.float32(c.describe()["scale"]), encode_samples(pcm, SIDE))
    # a model's float output decodes like the stored integers
    np.testing.assert_array_equal(c.decode(images.astype(np.float32) / 65535), back)


def test_split_keeps_the_first_images_and_the_transfer_rendering():
    c = codec(max_images=2)
    arrays, summary = c.encode_split([score("a", 1.0), score("b", 1.0)])
    assert arrays["x"].shape == (4, 1, SIDE, SIDE) and arrays["transfer"].shape == (4, 1, SIDE, SIDE)
    assert arrays["piece_index"].tolist() == [0, 0, 1, 1]
    assert arrays["start_sample"].tolist() == [0, SIDE**2, 0, SIDE**2]
    assert summary["items"] == 4 and summary["shape"] == [1, SIDE, SIDE]
    # the same notes on a guitar sound different from the piano
    assert not np.array_equal(arrays["x"], arrays["transfer"])
    piano = c.render(score("a", 1.0), 0)
    np.testing.assert_array_equal(c.decode_split(arrays)[0], np.resize(piano, 2 * SIDE**2)[: 2 * SIDE**2])


def test_empty_piece_is_rejected_and_settings_are_checked():
    c = codec()
    empty = Score.from_notes([], tracks=[Track("rh", 0)], piece_id="silent")
    arrays, summary = c.encode_split([score(), empty])
    assert summary["rejected"] == {"empty": 1} and summary["rejected_pieces"][0][0] == "silent"
    for bad in ({"side": 48}, {"program": 128}, {"max_images": -1}, {"sample_rate": 0}):
        with pytest.raises(ParamsError):
            codec(**bad)
    assert load_codec({"codec": "hilbert_audio", **c.describe(), "settings": c.settings()}) == c
    assert c.output == "audio" and get_codec("pianoroll").output == "score"


def test_noise_baseline_matches_the_data_spread():
    c = codec()
    arrays, _ = c.encode_split([score()])
    noise = c.noise(arrays, 3, seed=0)
    data_std = (arrays["x"].astype(np.float64) - 32768).std()
    assert len(noise) == 3 and noise[0].dtype == np.int16
    assert abs(np.concatenate(noise).std() / data_std - 1) < 0.1


def test_wav_round_trip(tmp_path):
    mono = np.array([0, 1, -1, 32767, -32768], np.int16)
    write_wav(tmp_path / "m.wav", mono, 8000)
    back, rate = read_wav(tmp_path / "m.wav")
    assert rate == 8000
    np.testing.assert_array_equal(back, mono)
    stereo = np.stack([mono, -mono - 1], axis=1).astype(np.int16)
    write_wav(tmp_path / "s.wav", stereo, 44100)
    np.testing.assert_array_equal(read_wav(tmp_path / "s.wav")[0], stereo)
    with pytest.raises(ValueError):
        write_wav(tmp_path / "f.wav", mono.astype(np.float32), 8000)


def test_reconstruction_metrics_by_hand():
    ref = np.array([[0.5, 1.0]])  # audio 0 and 1
    out = np.array([[0.5, 0.5]])  # error 0 and 1 (on the 2v - 1 scale)
    rec = reconstruction(ref, out)
    assert rec["mse"] == pytest.approx(0.125)  # (0 + 0.25) / 2
    assert rec["snr_db"] == pytest.approx(0.0)  # signal 1, noise 1
    out2 = np.array([[0.5, 0.9]])  # error 0.2: noise 0.04 -> 10 log10(25) = 13.98 dB
    assert snr_db(ref, out2) == pytest.approx(10 * math.log10(25))
    assert snr_db(ref, ref) == math.inf
    assert reconstruction(ref[:0], out[:0])["mse"] is None
    # the trainer's valid_snr_db is the same quantity
    from scorelab.training.autoencoder import snr_db as torch_snr

    assert torch_snr(torch.tensor(ref), torch.tensor(out2)) == pytest.approx(snr_db(ref, out2))
    with pytest.raises(ValueError):
        reconstruction(ref, out[:, :1])


def test_audio_stats_by_hand():
    full = np.full((1, 1, 2, 2), 32768 + 16384, np.uint16)  # every sample at half scale
    stats = audio_stats(full, 0.5)
    assert stats == {"images": 1, "seconds": 0.5, "rms_dbfs": pytest.approx(20 * math.log10(0.5))}
    assert audio_stats(np.full((1, 4), 32768, np.uint16), 1.0)["rms_dbfs"] == -math.inf
