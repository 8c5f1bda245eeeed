"""S3's Hilbert-curve audio images: a bijection on the grid, neighbours stay neighbours, exact round trip."""

from __future__ import annotations

import numpy as np
import pytest

from scorelab.io.hilbert import SIDE, decode_images, encode_samples, hilbert_order


@pytest.mark.parametrize("side", [2, 4, 16, SIDE])
def test_the_curve_visits_every_cell_once_in_unit_steps(side):
    rows, cols = hilbert_order(side)
    assert len(rows) == side * side
    flat = rows * side + cols
    assert np.array_equal(np.sort(flat), np.arange(side * side))  # a bijection on the grid
    steps = np.abs(np.diff(rows)) + np.abs(np.diff(cols))
    assert (steps == 1).all()  # consecutive samples are grid neighbours


def test_order_two_by_hand():
    # the order-1 curve: bottom-left... drawn as (row, col): (0,0) (1,0) (1,1) (0,1)
    rows, cols = hilbert_order(2)
    assert list(zip(rows.tolist(), cols.tolist(), strict=True)) == [(0, 0), (1, 0), (1, 1), (0, 1)]
    rows4, cols4 = hilbert_order(4)
    # the first quarter of the order-2 curve is the order-1 curve transposed
    assert list(zip(rows4[:4].tolist(), cols4[:4].tolist(), strict=True)) == [(0, 0), (0, 1), (1, 1), (1, 0)]


def test_not_a_power_of_two_is_refused():
    with pytest.raises(ValueError, match="power of two"):
        hilbert_order(12)


def test_wav_round_trip_is_exact_and_scaled_to_unit_range():
    rng = np.random.default_rng(0)
    t = np.arange(100_000) / 44_100
    wave = (20_000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    wave[:3] = [-32768, 32767, 0]  # the extremes survive too
    wave[5000:5100] = rng.integers(-32768, 32767, 100, dtype=np.int16)
    images = encode_samples(wave)
    assert images.shape == (2, SIDE, SIDE) and images.dtype == np.float32
    assert images.min() == 0.0 and images.max() == 1.0
    assert np.array_equal(decode_images(images, len(wave)), wave)
    # padding is silence: 0 maps to the middle of the range
    assert decode_images(images)[len(wave) :].tolist() == [0] * (2 * SIDE * SIDE - len(wave))
    # one image is 65,536 samples, about 1.49 s at 44.1 kHz (S3)
    assert round(SIDE * SIDE / 44_100, 2) == 1.49


def test_samples_close_in_time_are_close_in_the_image():
    wave = np.arange(SIDE * SIDE, dtype=np.int64) - 32768
    img = encode_samples(wave.astype(np.int16))[0]
    rows, cols = hilbert_order(SIDE)
    assert img[rows[1000], cols[1000]] == pytest.approx((1000) / 65535)


def test_model_output_out_of_range_is_clipped():
    img = np.full((SIDE, SIDE), 1.7, np.float32)
    img[0, 0] = -0.2
    out = decode_images(img)
    assert out.max() == 32767 and out.min() == -32768


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="mono int16"):
        encode_samples(np.zeros((10, 2), np.int16))
    with pytest.raises(ValueError, match="square"):
        decode_images(np.zeros((4, 8), np.float32))
