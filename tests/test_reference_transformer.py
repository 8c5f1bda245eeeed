"""Issue 24, part 2: the reference Transformer of each corpus family.

The REMI codec (MidiTok) round trips, keeps the voices apart and never imports torch; the
Transformer's cached sampler computes what the full forward computes; the judge stage
scores samples in another dataset's windows exactly as that dataset's own sets are scored;
the report places every paper system against the Transformer.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.tiny_datasets import QUARTER, chorale, encode_datasets

from scorelab.codecs import get_codec, load_codec
from scorelab.errors import EncodingFilterError, ParamsError
from scorelab.score import Score, Track, write_notes
from scorelab.utils import load_npz

REPO = Path(__file__).resolve().parents[1]


def _notes(score: Score) -> list[tuple[int, int, int, int]]:
    cols = ["track", "pitch", "onset", "duration"]
    return sorted(map(tuple, score.notes[cols].to_numpy().tolist()))


# The REMI codec ---------------------------------------------------------------------------


def test_remi_round_trips_four_voices_with_one_program_token_per_voice():
    codec = get_codec("remi", {})
    piece = chorale(0, bars=4)
    codec.encode_split([piece])
    ids = codec.encode(piece)
    tokens = [codec.vocab[i] for i in ids]
    assert {t for t in tokens if t.startswith("Program_")} == {
        "Program_0",
        "Program_1",
        "Program_2",
        "Program_3",
    }
    assert tokens[0] == "Bar_None" and tokens.count("Bar_None") == 4
    back = codec.decode(ids)
    assert _notes(back) == _notes(piece)
    assert [t.name for t in back.tracks] == ["soprano", "alto", "tenor", "bass"]
    assert back.time_signature == (4, 4) and back.resolution == QUARTER


def test_remi_one_track_has_no_program_tokens_and_decodes_what_it_encoded():
    rows = [(0, 60 + k % 12, k * 6, 6 * (1 + k % 3)) for k in range(0, 40, 2)]
    melody = Score.from_notes(rows, tracks=[Track("melody")], piece_id="m")
    codec = get_codec("remi", {})
    arrays, summary = codec.encode_split([melody, melody])
    assert not any(t.startswith("Program_") for t in codec.vocab)
    assert summary["pieces_kept"] == 2 and summary["vocab_size"] == len(codec.vocab)
    eos = codec.describe()["delimiter_id"]
    assert codec.vocab[eos] == "EOS_None"
    assert arrays["x"][arrays["song_starts"][1] - 1] == eos and arrays["x"][-1] == eos
    for back in codec.decode_split(arrays):
        assert _notes(back) == _notes(melody)
    # a sample stops at its first EOS and skips the leading ones, as the melody codec does
    ids = codec.encode(melody)
    assert _notes(codec.decode(np.concatenate([[eos, eos], ids, [eos], ids]))) == _notes(melody)


def test_remi_encoding_json_round_trip_checks_the_vocabulary(tmp_path):
    codec = get_codec("remi", {})
    codec.encode_split([chorale(1, bars=2)])
    codec.save(tmp_path)
    back = load_codec(tmp_path)
    assert back.vocab == codec.vocab and back.tracks == codec.tracks
    info = json.loads((tmp_path / "encoding.json").read_text())
    info["vocab"] = info["vocab"][:-1]
    with pytest.raises(ParamsError, match="vocab"):
        load_codec(info)


def test_remi_refuses_what_it_cannot_write():
    codec = get_codec("remi", {"pitch_low": 48, "pitch_high": 72})
    with pytest.raises(EncodingFilterError) as err:
        codec.encode(chorale(0))  # the soprano reaches 79
    assert err.value.filter == "pitch_range"
    codec = get_codec("remi", {})
    codec.encode_split([chorale(0)])
    two = Score.from_notes([(0, 60, 0, 24), (1, 64, 0, 24)], tracks=[Track("a"), Track("b")])
    with pytest.raises(EncodingFilterError) as err:
        codec.encode(two)
    assert err.value.filter == "tracks"
    with pytest.raises(ParamsError, match="steps_per_beat"):
        get_codec("remi", {"steps_per_beat": 5})


def test_remi_noise_has_the_real_pieces_note_counts_and_token_rates():
    codec = get_codec("remi", {})
    pieces = [chorale(i, bars=4) for i in range(3)]
    arrays, _ = codec.encode_split(pieces)
    noise = codec.noise(arrays, 6, seed=0)
    assert len(noise) == 6
    counts = {len(p.notes) for p in pieces}
    assert all(len(s.notes) in counts for s in noise)
    real_pitches = {p for s in pieces for p in s.notes["pitch"]}
    assert all(set(s.notes["pitch"]) <= real_pitches for s in noise)
    assert all(s.length <= 4 * 4 * QUARTER + 8 * QUARTER for s in noise)
    again = codec.noise(arrays, 6, seed=0)
    assert [_notes(a) for a in again] == [_notes(b) for b in noise]


def test_remi_codec_never_imports_torch():
    """An encode or evaluate stage must not import torch (issue 20); MidiTok's own
    __init__ would, through its optional PyTorch helpers."""
    code = (
        "import sys\n"
        "from tests.tiny_datasets import chorale\n"
        "from scorelab.codecs import get_codec\n"
        "c = get_codec('remi', {})\n"
        "a, _ = c.encode_split([chorale(0, bars=2)])\n"
        "c.decode_split(a)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "import miditok.pytorch_data\n"  # still importable afterwards
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


# The Transformer's cached sampler ---------------------------------------------------------


def _model(context: int = 64):
    from scorelab.models.transformer import DecoderTransformer, TransformerArch

    torch.manual_seed(0)
    arch = TransformerArch(width=32, layers=2, heads=4, feedforward=64, dropout=0.1, context=context)
    return DecoderTransformer(arch, 20).eval()


def test_kv_cache_gives_the_full_forward_logits():
    from scorelab.models.transformer import KVCache

    model = _model()
    ids = torch.randint(0, 20, (3, 40))
    full = model(ids)
    caches = [KVCache(8) for _ in model.blocks]  # smaller than needed: the buffers grow
    parts = [model(ids[:, :10], caches)]
    parts += [model(ids[:, i : i + 1], caches, start=i) for i in range(10, 30)]
    parts.append(model(ids[:, 30:], caches, start=30))
    assert torch.allclose(torch.cat(parts, 1), full, atol=1e-5)


def test_cached_sampler_draws_what_the_generic_sampler_draws_without_sliding():
    """Greedy draws (a tiny temperature), seeds of different lengths, a stop symbol: the
    same continuations as scorelab.sampling.tokens.sample_tokens on the same model."""
    from scorelab.sampling.tokens import sample_tokens

    model = _model()
    seeds = [np.array([1, 2, 3]), np.array([4, 5, 6, 7, 8, 9]), np.array([7])]
    ours = model.sample_tokens(5, 0, seeds, 1e-6, 30, stop_id=0, window=64)
    generic = sample_tokens(model, 5, 0, seeds, 1e-6, 30, stop_id=0, window=64)
    assert [a.tolist() for a in ours] == [b.tolist() for b in generic]


def test_cached_sampler_slides_keeps_to_max_steps_and_repeats():
    model = _model(context=16)
    seeds = [np.array([1, 2, 3, 4, 5])]
    a = model.sample_tokens(4, 3, seeds, 1.0, 50, stop_id=19, window=16)
    b = model.sample_tokens(4, 3, seeds, 1.0, 50, stop_id=19, window=16)
    assert [x.tolist() for x in a] == [y.tolist() for y in b]
    assert all(len(x) <= 50 for x in a) and any(len(x) > 16 for x in a)  # past the context: it slid
    assert all(19 not in x.tolist() for x in a)
    with pytest.raises(ValueError, match="temperature"):
        model.sample_tokens(1, 0, seeds, 0.0, 5, stop_id=0)


# The judge stage ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def roll_data(tmp_path_factory):
    from scorelab.params import load_params
    from scorelab.pipeline.evaluate import run_evaluate_data

    params = load_params(REPO / "params.yaml")
    sub = {"datasets": {"jsb_roll": params["datasets"]["jsb_roll"]}}
    root = tmp_path_factory.mktemp("judge")
    data = encode_datasets(sub, root / "encoded", train_pieces=8)["jsb_roll"]
    run_evaluate_data(params, "jsb_roll", data, root / "metrics" / "data", root / "ev" / "data")
    return params, data, root


def test_judge_scores_the_test_split_exactly_as_the_test_split(roll_data, tmp_path):
    """The dataset's own test pieces, handed to the judge as a variant's samples (whole
    pieces, plus one too short for a window), get the test split's headline score: the
    same windows, the same references; the short piece is refused and counted."""
    from scorelab.pipeline.evaluate import run_judge

    params, data, root = roll_data
    test_pieces = [chorale(i) for i in (10, 11)]  # encode_datasets: test is pieces 10 and 11 for 8 train
    short = chorale(99, bars=1)
    samples = tmp_path / "samples"
    write_notes(samples, [replace(s, split="samples") for s in [*test_pieces, short]])
    out, ev = tmp_path / "judged", tmp_path / "ev"
    run_judge(params, "transformer_jsb", "jsb_roll", samples, data, root / "ev" / "data", out, ev)
    head = json.loads((out / "samples.json").read_text())
    assert head["variant"] == "transformer_jsb" and head["dataset"] == "jsb_roll"
    assert (head["pieces_in"], head["pieces_kept"]) == (3, 2)
    assert head["rejected"] == {"length": 1}
    test_head = json.loads((root / "ev" / "data" / "test.headline.json").read_text())
    mine = json.loads((ev / "samples.headline.json").read_text())
    assert mine["pieces"] == test_head["pieces"] and mine["score"] == test_head["score"]
    assert head["windows"] == len(load_npz(data / "test.npz")["x"])


def test_judge_with_nothing_in_the_dataset_form_says_so(roll_data, tmp_path):
    from scorelab.pipeline.evaluate import run_judge

    params, data, root = roll_data
    write_notes(tmp_path / "s", [replace(chorale(1, bars=1), split="samples")])
    run_judge(
        params, "v", "jsb_roll", tmp_path / "s", data, root / "ev" / "data", tmp_path / "o", tmp_path / "e"
    )
    head = json.loads((tmp_path / "o" / "samples.json").read_text())
    assert head["score"] is None and head["verdict"] == "not scored" and head["pieces_kept"] == 0


# The report -------------------------------------------------------------------------------


def test_reaches_reads_the_intervals():
    from scorelab.report.summary import reaches

    ref = {"ci95": [0.5, 0.6]}
    assert reaches({"ci95": [0.61, 0.7]}, ref) == "above"
    assert reaches({"ci95": [0.3, 0.49]}, ref) == "below"
    assert reaches({"ci95": [0.55, 0.9]}, ref) == "level"
    assert reaches({"ci95": None}, ref) == "not scored"


def test_summary_ranks_the_transformer_and_says_who_reaches_it(tmp_path):
    from scorelab.report.render import Paragraph, Table
    from scorelab.report.summary import summary_blocks
    from scorelab.utils import write_json

    class V:
        def __init__(self, name, dataset):
            self.name, self.dataset = name, dataset

    metrics, ev = tmp_path / "metrics", tmp_path / "evaluation"
    for name, score, ci in (("s0_wgan_gp_jsb", 0.4, [0.35, 0.45]), ("transformer_jsb", 0.7, [0.6, 0.8])):
        write_json(
            metrics / "variants" / name / "samples.json",
            {"score": score, "relative": score, "verdict": "between"},
        )
        write_json(
            ev / "variants" / name / "samples.headline.json", {"ci95": ci, "relative_ci95": ci, "pieces": 10}
        )
    write_json(
        metrics / "judged" / "jsb_roll" / "samples.json",
        {
            "variant": "transformer_jsb",
            "dataset": "jsb_roll",
            "score": 0.6,
            "relative": 0.5,
            "verdict": "between",
        }
        | {"pieces_in": 100, "pieces_kept": 90},
    )
    write_json(
        ev / "judged" / "jsb_roll" / "samples.headline.json",
        {"ci95": [0.55, 0.65], "relative_ci95": [0.4, 0.6]},
    )
    variants = [V("s0_wgan_gp_jsb", "jsb_roll"), V("transformer_jsb", "jsb_remi")]
    blocks = summary_blocks(variants, metrics, ev, lambda n: "cpu", lambda n: n)
    ranking = [b for b in blocks if isinstance(b, Table)][0]
    names = [r[1][0] for r in ranking.rows]
    assert names == ["transformer_jsb", "reference: Transformer (transformer_jsb)", "s0_wgan_gp_jsb"]
    versus = [b for b in blocks if isinstance(b, Table) and "reaches it" in b.header][0]
    assert versus.rows == (
        ("jsb_roll", "s0_wgan_gp_jsb", "samples", "0.4 [0.35, 0.45]", "0.5 [0.4, 0.6]", "below"),
    )
    text = " ".join(b.text for b in blocks if isinstance(b, Paragraph))
    assert "jsb_roll: 0 of 1 paper set(s) reach the Transformer" in text and "90 of 100" in text
    assert not [b for b in blocks if isinstance(b, Table) and "best snapshot" in b.header]  # no budget file
    budget = {
        "measured_by": "benchmarks/transformer_budget.py",
        "date": "2026-12-05",
        "machine": "test box",
        "variants": {
            "transformer_jsb": {
                "steps": 600,
                "train_seconds": 80.04,
                "curves": {"jsb_roll": {"75": 0.5, "525": 0.82, "600": 0.77}},
                "final": {"jsb_roll": {"relative": 0.846, "pieces_kept": 100, "pieces_in": 100}},
            }
        },
    }
    blocks = summary_blocks(variants, metrics, ev, lambda n: "cpu", lambda n: n, budget)
    more = [b for b in blocks if isinstance(b, Table) and "best snapshot" in b.header][0]
    assert more.rows == (
        ("transformer_jsb", "jsb_roll", "600", "80", "0.846", "100 of 100", "0.82 at 525", "0.5"),
    )
    text = " ".join(b.text for b in blocks if isinstance(b, Paragraph))
    assert "on 2026-12-05 (test box)" in text


def test_judge_pairs_name_real_variants_and_note_datasets():
    """Every judge@<dataset> of dvc.yaml names a variant of the default run whose dataset
    is a REMI one, and a dataset scored on notes, of the same corpus."""
    import yaml

    from scorelab.params import load_params

    params = load_params(REPO / "params.yaml")
    pairs = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]["judge"]["foreach"]
    assert pairs
    for dataset, item in pairs.items():
        v = params["variants"][item["variant"]]
        assert params["datasets"][v["dataset"]]["codec"] == "remi"
        assert params["datasets"][dataset]["corpus"] == params["datasets"][v["dataset"]]["corpus"]
        assert params["datasets"][dataset]["codec"] not in ("remi", "hilbert_audio")
    scored = {
        d for d, x in params["datasets"].items() if x["codec"] not in ("remi", "hilbert_audio", "frames")
    }
    used = {v["dataset"] for v in params["variants"].values()}
    assert scored & used <= set(pairs), "a dataset with paper systems has no Transformer judged in it"


def test_encode_datasets_arrays_are_what_the_fixture_says(roll_data):
    """The judge test above relies on the fixture's layout: test = pieces 10 and 11."""
    _, data, _ = roll_data
    assert sorted(set(load_npz(data / "test.npz")["piece_ids"].tolist())) == ["c10", "c11"]
