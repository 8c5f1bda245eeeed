"""The `scorelab` command: --help everywhere, and `generate` from a checkpoint without DVC."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from scorelab.cli import app
from scorelab.codecs import get_codec
from scorelab.io.midi import read_midi, write_midi
from scorelab.score import Score, Track
from scorelab.training.run import train_variant

runner = CliRunner()
# every registered command, as typer names it (so a new command is covered without an edit)
COMMANDS = [c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands]


def test_the_commands_are_all_there():
    assert {"corpus", "encode", "train", "sample", "evaluate", "evaluate-stage", "report", "generate"} <= set(
        COMMANDS
    )


@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_on_every_command(command, flag):
    result = runner.invoke(app, ([command] if command else []) + [flag])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_version_is_the_installed_distributions():
    from importlib.metadata import version

    import scorelab

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"scorelab {version('scorelab')}"
    assert version("scorelab") == scorelab.__version__  # pyproject.toml and the package agree


def _chorale_like(i: int) -> Score:
    """Two bars of four voices in C major, varied by i."""
    rows = []
    for bar in range(2):
        for beat in range(4):
            on = (bar * 4 + beat) * 24
            for t, base in enumerate((72, 67, 60, 48)):
                rows.append((t, base + (beat + i) % 3, on, 24))
    return Score.from_notes(
        rows, tracks=[Track(n) for n in ("soprano", "alto", "tenor", "bass")], piece_id=f"c{i}"
    )


def _melody(i: int) -> Score:
    rows = [(0, 60 + (k * (i + 1)) % 7, k * 12, 12) for k in range(16)]
    return Score.from_notes(rows, tracks=[Track("melody")], piece_id=f"m{i}", key="C major")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """models/<variant>/checkpoint.pt for one roll GAN and one LSTM, one training step each."""
    root = tmp_path_factory.mktemp("models")
    roll = get_codec(
        "pianoroll",
        dict(
            steps_per_beat=4,
            bars_per_sample=2,
            hop_bars=1,
            pitch_low=32,
            pitch_high=96,
            min_notes=1,
            time_signature="4/4",
        ),
    )
    arrays, _ = roll.encode_split([_chorale_like(i) for i in range(4)])
    enc = json.loads(roll.save(root / "roll.json").read_text())
    train_variant(
        "adversarial",
        "s0_unet",
        {"base_channels": 2, "latent_channels": 2},
        dict(loss="wgan-gp", n_critic=1, batch_size=2, iterations=1, checkpoint_every=1),
        {"train": {"x": arrays["x"]}},
        enc,
        root / "gan",
        root / "gan_logs",
        0,
        progress=False,
    )
    tokens = get_codec(
        "melody_tokens",
        dict(
            steps_per_beat=4,
            transpose=True,
            allowed_durations=[0.25, 0.5, 1.0],
            delimiter_length=4,
            pitch_low=48,
            pitch_high=96,
        ),
    )
    t_arrays, _ = tokens.encode_split([_melody(i) for i in range(4)])
    t_enc = json.loads(tokens.save(root / "tok.json").read_text())
    train_variant(
        "likelihood",
        "s4_lstm",
        {"hidden": 8, "dropout": 0.0},
        dict(lr=1e-3, epochs=1, batch_size=2, window=8, checkpoint_every=1, max_steps=1),
        {split: {"x": t_arrays["x"]} for split in ("train", "valid", "test")},
        t_enc,
        root / "lstm",
        root / "lstm_logs",
        0,
        progress=False,
    )
    return root


def test_generate_unconditional_rolls(models, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["generate", "gan", "--n", "3", "--out", str(out), "--models", str(models), "--threshold", "0.0"]
    )
    assert result.exit_code == 0, result.output
    mids = sorted(out.glob("*.mid"))
    assert len(mids) == 3 and (out / "rolls.png").is_file()
    # threshold 0 turns every cell on: 4 voices, each sounding through both bars at every pitch
    s = read_midi(mids[0])
    assert len(s.tracks) == 4


def test_generate_accompaniment_keeps_the_melody(models, tmp_path):
    melody = Score.from_notes(
        [(0, 72, 0, 48), (0, 74, 48, 48), (0, 76, 96, 96), (0, 77, 192, 48)],
        tracks=[Track("tune")],
        piece_id="tune",
    )
    write_midi(melody, tmp_path / "tune.mid")
    out = tmp_path / "acc"
    result = runner.invoke(
        app,
        [
            "generate",
            "gan",
            "--melody",
            str(tmp_path / "tune.mid"),
            "--out",
            str(out),
            "--models",
            str(models),
        ],
    )
    assert result.exit_code == 0, result.output
    s = read_midi(out / "tune_accompanied.mid")
    soprano = s.notes[s.notes["track"] == 0][["pitch", "onset", "duration"]].values.tolist()
    assert soprano == [[72, 0, 48], [74, 48, 48], [76, 96, 96], [77, 192, 48]]


def test_generate_melody_continues_the_seed(models, tmp_path):
    seed = _melody(0)
    write_midi(seed, tmp_path / "seed.mid")
    out = tmp_path / "mel"
    result = runner.invoke(
        app,
        [
            "generate",
            "lstm",
            "--seed-melody",
            str(tmp_path / "seed.mid"),
            "--n",
            "2",
            "--max-steps",
            "8",
            "--out",
            str(out),
            "--models",
            str(models),
        ],
    )
    assert result.exit_code == 0, result.output
    got = read_midi(out / "generated_000.mid")
    first = got.notes[["pitch", "onset", "duration"]].values[:16]
    want = seed.notes[["pitch", "onset", "duration"]].values
    # the seed comes back whole, moved as one (a MIDI file has no key: it is estimated, then
    # the melody is transposed to C major / A minor as S4's corpus was)
    shift = first[:, 0] - want[:, 0]
    assert len(set(shift.tolist())) == 1 and -6 <= shift[0] <= 5
    assert first[:, 1:].tolist() == want[:, 1:].tolist()


def test_generate_rejects_options_the_trainer_does_not_take(models, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.mid").write_bytes(b"")  # the option names an existing file; the trainer refuses it
    result = runner.invoke(
        app, ["generate", "lstm", "--melody", "x.mid", "--out", str(tmp_path), "--models", str(models)]
    )
    assert result.exit_code != 0
    assert "--melody needs a generator that accompanies" in str(result.exception)
    result = runner.invoke(
        app, ["generate", "gan", "--seed-melody", "x.mid", "--out", str(tmp_path), "--models", str(models)]
    )
    assert result.exit_code != 0
    assert "--seed-melody is for sequence models" in str(result.exception)


def test_generate_missing_checkpoint_names_it(tmp_path):
    result = runner.invoke(app, ["generate", "nope", "--out", str(tmp_path), "--models", str(tmp_path)])
    assert result.exit_code != 0
    assert "nope" in str(result.exception)


# ------------------------------------------------------------ bad values: one line, exit 2

BAD_VALUES = [
    (["generate", "s4_lstm_erk", "--temperature", "0"], "--temperature", "> 0"),
    (["generate", "s4_lstm_erk", "--temperature", "-1.5"], "--temperature", "> 0"),
    (["generate", "s0_wgan_gp_jsb", "--n", "-3"], "--n", ">= 1"),
    (["generate", "s0_wgan_gp_jsb", "--n", "0"], "--n", ">= 1"),
    (["generate", "s0_wgan_gp_jsb", "--n", "many"], "--n", "integer"),
    (["generate", "s4_lstm_erk", "--max-steps", "0"], "--max-steps", ">= 1"),
    (["generate", "s0_wgan_gp_jsb", "--threshold", "1.5"], "--threshold", "[0, 1]"),
    (["generate", "s0_wgan_gp_jsb", "--threshold", "-0.1"], "--threshold", "[0, 1]"),
    (["generate", "s0_wgan_gp_jsb", "--seed", "-1"], "--seed", ">= 0"),
    (["generate", "s0_wgan_gp_jsb", "--melody", "absent.mid"], "--melody", "does not exist"),
    (["generate", "s4_lstm_erk", "--seed-melody", "absent.mid"], "--seed-melody", "does not exist"),
    (["train", "s4_lstm_erk", "--max-steps", "0"], "--max-steps", ">= 1"),
    (["train", "s4_lstm_erk", "--params", "absent.yaml"], "--params", "does not exist"),
    (["corpus", "jsb", "--params", "absent.yaml"], "--params", "does not exist"),
    (["encode", "jsb_roll", "--params", "absent.yaml"], "--params", "does not exist"),
    (["sample", "s4_lstm_erk", "--params", "absent.yaml"], "--params", "does not exist"),
    (["evaluate-stage", "jsb_roll", "--params", "absent.yaml"], "--params", "does not exist"),
    (["seeds", "--params", "absent.yaml"], "--params", "does not exist"),
    (["report", "--params", "absent.yaml"], "--params", "does not exist"),
    (["evaluate", "absent_dir", "--reference", "."], "generated", "does not exist"),
    (["evaluate", ".", "--reference", "absent_dir"], "--reference", "does not exist"),
    (["evaluate", ".", "--reference", ".", "--seed", "-2"], "--seed", ">= 0"),
    (["evaluate", ".", "--reference", ".", "--baseline", "absent_dir"], "--baseline", "does not exist"),
]


@pytest.mark.parametrize(
    "argv,option,range_", BAD_VALUES, ids=lambda v: " ".join(v) if isinstance(v, list) else None
)
def test_bad_option_values_are_one_line_and_exit_2(argv, option, range_, tmp_path, monkeypatch, capsys):
    """Every command checks its options before any work: one line naming the option and
    its valid range on stderr, exit code 2 (click's usage-error code), no traceback and
    nothing written."""
    from scorelab.cli import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and option in lines[0] and range_ in lines[0], err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # no work: nothing written


def test_main_runs_a_good_command_and_keeps_errors_at_exit_1(tmp_path, monkeypatch, capsys):
    from scorelab.cli import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["generate", "nope", "--models", str(tmp_path)])
    assert exit_.value.code == 1  # found while working: a ScorelabError, exit 1
    assert "nope/checkpoint.pt: no such checkpoint file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    assert "Usage" in capsys.readouterr().out


def _report_stage_options() -> dict[str, str]:
    """dvc.yaml's report stage command as {option: value}."""
    import shlex
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[1]
    cmd = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]["report"]["cmd"]
    words = shlex.split(cmd)[2:]  # after `python stages/report.py`
    return {words[i].lstrip("-"): words[i + 1] for i in range(0, len(words), 2)}


@pytest.mark.parametrize("present", [True, False], ids=["inputs-there", "inputs-absent"])
def test_report_command_reads_what_the_report_stage_reads(present, tmp_path, monkeypatch):
    """`scorelab report` builds the stage's page: every input of dvc.yaml's report cmd is
    passed (each that exists; None for one that does not), and --only narrows it."""
    from pathlib import Path

    import scorelab.pipeline.report as pipeline_report

    root = Path(__file__).resolve().parents[1]
    stage = _report_stage_options()
    (tmp_path / "params.yaml").write_text((root / "params.yaml").read_text())
    optional = {k: stage[k] for k in ("seeds", "models", "timings", "budget")}
    if present:
        for key, rel in optional.items():
            path = tmp_path / rel
            if key in ("seeds", "budget"):
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("{}")
            else:
                path.mkdir(parents=True)
    calls = []
    monkeypatch.setattr(pipeline_report, "run_report", lambda *a, **k: calls.append((a, k)))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["report", "--only", "s4_lstm_erk, s0_wgan_gp_jsb"])
    assert result.exit_code == 0, result.output
    ((args, kwargs),) = calls
    positional = dict(zip(("metrics", "logs", "samples", "out", "evaluation"), args[1:], strict=True))
    for key in ("metrics", "logs", "samples", "out", "evaluation"):
        assert positional[key] == Path(stage[key]), key
    for key, rel in optional.items():
        assert kwargs[key] == (Path(rel) if present else None), key
    assert kwargs["only"] == ["s4_lstm_erk", "s0_wgan_gp_jsb"]
