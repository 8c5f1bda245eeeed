"""The ``scorelab`` command: every pipeline step by hand, plus ``generate`` without DVC.

The DVC stages (stages/*.py) and these commands call the same functions in
``scorelab.pipeline``, so a step run by hand gives the bytes ``dvc repro`` gives.
"""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    help="scorelab: reproducible symbolic music generation (corpora, codecs, models, metrics, report).",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},  # -h on the app and every command
)


def _print_version(value: bool) -> None:
    """``--version``: the installed distribution's version (pyproject.toml's), then exit."""
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"scorelab {version('scorelab')}")
        except PackageNotFoundError:  # run from a source tree that was never installed
            from scorelab import __version__

            typer.echo(f"scorelab {__version__} (not installed)")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        None, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    pass


PARAMS = typer.Option(
    Path("params.yaml"), exists=True, dir_okay=False, help="params.yaml to read (validated before any work)"
)


def _positive(value: float) -> float:
    """Click has no open ranges in typer: a value that must be > 0 (a temperature)."""
    if value is not None and not value > 0:
        raise typer.BadParameter(f"{value} is not in the range x>0")
    return value


def _params(path: Path) -> dict:
    """The whole file checked (a stage script checks only its own part, issue 20)."""
    from scorelab.validation import load_valid_params

    return load_valid_params(path)


@app.command()
def corpus(
    name: str = typer.Argument(..., help="a key of `corpora:` or `fetched:` in params.yaml"),
    out: Path = typer.Option(None, help="default data/corpus/NAME"),
    raw: Path = typer.Option(
        None, help="a fetched corpus's files (default data/raw/NAME, what `scorelab fetch NAME` writes)"
    ),
    params: Path = PARAMS,
) -> None:
    """Read corpus NAME into Parquet note/piece tables (+ rejected.parquet)."""
    from scorelab.errors import ScorelabError
    from scorelab.pipeline.corpus import run_corpus

    p = _params(params)
    if name in (p.get("fetched") or {}):
        raw = raw or Path("data/raw") / name
        if not raw.is_dir():
            raise ScorelabError(f"{raw}: no such folder: fetch corpus {name} first (`scorelab fetch {name}`)")
    elif raw is not None:
        raise ScorelabError(
            f"--raw: corpus {name} is not under fetched: in params.yaml; it reads no fetched files"
        )
    summary = run_corpus(p, name, out or Path("data/corpus") / name, raw=raw)
    from scorelab.process import one_line

    typer.echo(f"corpus {name}: {one_line({k: v for k, v in summary.items() if k != 'corpus'})}")


@app.command()
def fetch(
    name: str = typer.Argument(..., help="a key of `fetched:` in params.yaml"),
    out: Path = typer.Option(None, help="default data/raw/NAME (what `scorelab corpus NAME` reads)"),
    downloads: Path = typer.Option(
        None, help="where files are downloaded or placed by hand (default data/downloads/NAME)"
    ),
    offline: bool = typer.Option(
        None, "--offline/--online", help="offline: only files already placed (default: SCORELAB_OFFLINE)"
    ),
    params: Path = PARAMS,
) -> None:
    """Fetch corpus NAME's pinned downloads (or pack its local folders) into data/raw/NAME."""
    from scorelab.errors import ParamsError
    from scorelab.pipeline.fetch import run_fetch
    from scorelab.process import configure_logging

    p = _params(params)
    if name not in (p.get("fetched") or {}):
        known = (
            ", ".join(p.get("fetched") or {})
            or "none (switch a catalogue on: scorelab params -S 'catalogues=[papers]')"
        )
        raise ParamsError(f"fetched.{name}: no such corpus to fetch; fetched corpora: {known}")
    configure_logging()  # the scorelab logger's one handler (a root handler too printed twice)
    out = out or Path("data/raw") / name
    record = run_fetch(p, name, out, downloads_dir=downloads, offline=offline)
    typer.echo(f"fetch {name}: {len(record['files'])} file(s) in {out}")


@app.command("params")
def params_cmd(
    set_: list[str] = typer.Option(
        None,
        "--set",
        "-S",
        help="a Hydra override, as for `dvc exp run -S`: model.n_critic=5, 'catalogues=[papers]'",
    ),
    check: bool = typer.Option(False, help="only check that params.yaml is conf/ composed (exit 1 if not)"),
    params: Path = typer.Option(Path("params.yaml"), dir_okay=False, help="the file to write"),
) -> None:
    """Compose conf/ (and the catalogues switched on) into params.yaml, as DVC's `-S` does.

    Edit conf/config.yaml or conf/catalogues/*.yaml, then run this. Without a
    `catalogues=` override, the catalogues params.yaml has on stay on.
    """
    import yaml

    from scorelab.conf import differences, write_params

    if check:
        diff = differences(params, list(set_ or []))
        if diff:
            typer.echo(f"{params} differs from conf/ at {len(diff)} key(s): {', '.join(diff[:10])}")
            raise typer.Exit(1)
        typer.echo(f"{params} is conf/ composed")
        return
    from scorelab.validation import validate

    text = write_params(params, list(set_ or []))
    validate(yaml.safe_load(text))  # the whole file, before any stage runs
    on = list((yaml.safe_load(text) or {}).get("catalogues") or {})
    typer.echo(f"wrote {params} from conf/ (catalogues: {', '.join(on) or 'none'})")


@app.command("prune-lock")
def prune_lock(lock: Path = typer.Option(Path("dvc.lock"), exists=True, dir_okay=False)) -> None:
    """Drop dvc.lock's entries of stages that are no longer in dvc.yaml.

    DVC keeps them (a renamed stage group, a catalogue switched off, a variant removed):
    the committed lock had 37 such entries. `make repro` runs this after `dvc repro`.
    """
    from scorelab.locks import prune_lock_entries

    gone = prune_lock_entries(lock)
    typer.echo(
        f"dropped {len(gone)} entr{'y' if len(gone) == 1 else 'ies'} of stages not in dvc.yaml"
        + (f": {', '.join(gone)}" if gone else "")
    )


@app.command()
def config(
    name: str = typer.Argument(..., help="a variant name"),
    profile: str = typer.Option(None, help="resolve under this profile (default base.profile)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON: {section: {key: {value, from}}}"),
    params: Path = PARAMS,
) -> None:
    """Print variant NAME's resolved settings and, for each value, the file and key it came from."""
    import json

    from scorelab.conf import resolve_with_sources

    p = _params(params)
    if profile is not None and profile not in p["profiles"]:
        raise typer.BadParameter(f"{profile!r} is not one of {sorted(p['profiles'])}", param_hint="--profile")
    resolved = resolve_with_sources(p, name, params, profile)
    if as_json:
        typer.echo(json.dumps(resolved, indent=2))
        return
    for section, values in resolved.items():
        typer.echo(f"{section}:")
        width = max((len(k) for k in values), default=0)
        for key, entry in values.items():
            typer.echo(f"  {key:<{width}}  {json.dumps(entry['value'])!s:<24}  {entry['from']}")


@app.command()
def encode(
    name: str = typer.Argument(..., help="a key of `datasets:` in params.yaml"),
    corpus_dir: Path = typer.Option(None, "--corpus", help="default data/corpus/<its corpus>"),
    out: Path = typer.Option(None, help="default data/encoded/NAME"),
    params: Path = PARAMS,
) -> None:
    """Encode dataset NAME into train/valid/test tensors and encoding.json."""
    from scorelab.params import resolve_dataset
    from scorelab.pipeline.encode import run_encode

    p = _params(params)
    corpus_name, _, _ = resolve_dataset(p, name)
    summary = run_encode(
        p, name, corpus_dir or Path("data/corpus") / corpus_name, out or Path("data/encoded") / name
    )
    from scorelab.process import one_line

    typer.echo(f"encode {name}: {one_line(summary['splits'])}")


@app.command()
def train(
    name: str = typer.Argument(..., help="a variant name (any trainer)"),
    max_steps: int = typer.Option(None, min=1, help="stop after this many steps, >= 1 (smoke test)"),
    params: Path = PARAMS,
) -> None:
    """Train variant NAME into models/NAME (resumes from models/NAME/resume.pt)."""
    from scorelab.params import variant
    from scorelab.pipeline.train import run_train

    p = _params(params)
    data = Path("data/encoded") / variant(p, name)["dataset"]
    ckpt = run_train(p, name, data, Path("models") / name, Path("logs") / name, max_steps=max_steps)
    typer.echo(f"wrote {ckpt}")


@app.command()
def sample(name: str = typer.Argument(..., help="a variant name"), params: Path = PARAMS) -> None:
    """Sample variant NAME into samples/NAME (tensors, Parquet, MIDI, audio, pictures)."""
    from scorelab.params import variant
    from scorelab.pipeline.sample import run_sample
    from scorelab.workers import workers

    p = _params(params)
    data = Path("data/encoded") / variant(p, name)["dataset"]
    with workers():  # as stages/sample.py: clips and rolls in worker processes
        counts = run_sample(p, name, Path("models") / name, data, Path("samples") / name)
    from scorelab.process import one_line

    typer.echo(f"sample {name}: {one_line(counts)}")


@app.command()
def evaluate(
    generated: Path = typer.Argument(
        ..., exists=True, file_okay=False, help="a folder of MIDI files to score (searched recursively)"
    ),
    reference: Path = typer.Option(
        ..., "--reference", exists=True, file_okay=False, help="a folder of MIDI files to compare with"
    ),
    out: Path = typer.Option(Path("evaluation.json"), help="where the full JSON goes"),
    baseline: Path = typer.Option(
        None,
        exists=True,
        file_okay=False,
        help="a folder of a naive baseline's MIDI: the headline score's floor (and per-metric deviations)",
    ),
    test: Path = typer.Option(
        None,
        "--test",
        exists=True,
        file_okay=False,
        help="a folder of held-out real MIDI (not in --reference): the headline score's ceiling",
    ),
    seed: int = typer.Option(0, min=0, help="bootstrap seed, >= 0 (same seed, same intervals)"),
) -> None:
    """Score any folder of MIDI files against a reference folder: no DVC, no params.yaml.

    Prints the headline score (closeness to the reference, 0-1, with its 95 % interval;
    with --test and --baseline also its place between held-out real music and the
    baseline, and a verdict), the headline metrics with intervals, and MGEval's overlap
    areas; writes every metric to --out. Unreadable files are listed with their reason
    and skipped.
    """
    from scorelab.pipeline.evaluate_folders import format_table, run_evaluate_folders

    result = run_evaluate_folders(generated, reference, out, baseline=baseline, test=test, seed=seed)
    typer.echo(format_table(result))
    typer.echo(f"\nwrote {out}")


@app.command("evaluate-stage")
def evaluate_stage(
    name: str = typer.Argument(..., help="a dataset name (real data) or a variant name (samples)"),
    params: Path = PARAMS,
) -> None:
    """The pipeline's evaluate step by hand: a dataset's sets or a variant's samples."""
    from scorelab.params import variant
    from scorelab.pipeline.evaluate import run_evaluate_data, run_evaluate_variant

    p = _params(params)
    if name in p["datasets"]:
        res = run_evaluate_data(
            p, name, Path("data/encoded") / name, Path("metrics/data") / name, Path("evaluation/data") / name
        )
    else:
        from scorelab.workers import workers

        ds = variant(p, name)["dataset"]
        with workers():  # as stages/evaluate.py: the quality curve in a worker process
            res = run_evaluate_variant(
                p,
                name,
                Path("samples") / name,
                Path("data/encoded") / ds,
                Path("evaluation/data") / ds,
                Path("metrics/variants") / name,
                Path("evaluation/variants") / name,
            )
    for set_name, ev in res.items():
        typer.echo(f"{set_name}: {ev.headline()}")


@app.command()
def seeds(
    variants: list[str] = typer.Argument(None, help="variants to gather (default: every variant in params)"),
    out: Path = typer.Option(Path("seeds.json"), help="what the report reads"),
    params: Path = PARAMS,
) -> None:
    """Gather the DVC experiments that changed only base.seed into seeds.json, for the report.

    Queue and run them first (docs/reproducibility.md, "Several seeds"), then `dvc repro report`.
    """
    from scorelab.seeds import collect_seeds
    from scorelab.utils import write_json

    p = _params(params)
    result = collect_seeds(Path("."), variants or list(p["variants"]))
    write_json(out, result)
    seeds = sorted({r["seed"] for r in result["runs"]})
    typer.echo(
        f"{len(result['runs'])} seed runs (seeds {seeds}); variants with a spread: "
        f"{sorted(result['variants']) or 'none'}; wrote {out}"
    )


# The report stage's inputs (dvc.yaml's `report` cmd), each passed when it is there: the
# command builds the page the stage builds. It once passed metrics, logs, samples and
# evaluation alone, so its page lacked the seeds' spread, the devices, the training times
# and the Transformers' budget (tests/test_cli.py checks the two against each other).
REPORT_INPUTS = {
    "seeds": Path("seeds.json"),
    "models": Path("models"),
    "timings": Path("timings/train"),
    "budget": Path("benchmarks/results/transformer_budget.json"),
}


@app.command()
def report(
    out: Path = typer.Option(Path("reports")),
    params: Path = PARAMS,
    only: str = typer.Option(None, help="comma-separated variants: a report on these alone"),
) -> None:
    """Render reports/README.md and reports/index.html, as the report stage does."""
    from scorelab.pipeline.report import run_report
    from scorelab.workers import workers

    extra = {k: (v if v.exists() else None) for k, v in REPORT_INPUTS.items()}
    names = [n.strip() for n in only.split(",") if n.strip()] if only else None
    p = _params(params)
    with workers():  # as stages/report.py: figures and clips in worker processes
        run_report(
            p, Path("metrics"), Path("logs"), Path("samples"), out, Path("evaluation"), **extra, only=names
        )
    typer.echo(f"wrote {out}/index.html")


@app.command()
def unlock(
    repo: Path = typer.Option(Path("."), exists=True, file_okay=False, help="the DVC project's folder"),
) -> None:
    """Clear DVC's stage locks held by processes that are gone (after a `kill -9` of `dvc repro`).

    DVC clears a dead process's entries in .dvc/tmp/rwlock itself, but a killed process
    whose parent has not reaped it yet (a zombie: a script, notebook or CI job that
    started `dvc repro` and killed it) still counts as alive, and every later repro stops
    with "is busy". This removes exactly the entries of processes that no longer run,
    keeps those of running ones, and says what it removed.
    """
    from scorelab.locks import clear_stale_locks

    removed = clear_stale_locks(repo)
    for pid, cmd, paths in removed:
        typer.echo(f"removed the lock of process {pid} ({cmd}) on {paths} path(s)")
    typer.echo("no stale locks" if not removed else f"cleared {len(removed)} stale lock holder(s)")


@app.command()
def generate(
    variant: str = typer.Argument(..., help="a trained variant (models/VARIANT/checkpoint.pt)"),
    n: int = typer.Option(4, "--n", min=1, help="how many pieces, >= 1"),
    out: Path = typer.Option(Path("generated"), help="folder for MIDI files and rolls.png"),
    models: Path = typer.Option(Path("models"), help="folder holding the variants' checkpoints"),
    melody: Path = typer.Option(
        None, exists=True, dir_okay=False, help="S0: a MIDI melody to accompany (its first track)"
    ),
    seed_melody: Path = typer.Option(
        None, exists=True, dir_okay=False, help="LSTM: a MIDI melody to continue"
    ),
    temperature: float = typer.Option(
        1.0, callback=_positive, help="LSTM: sampling temperature, > 0 (p ** (1/T))"
    ),
    max_steps: int = typer.Option(256, min=1, help="LSTM: most grid steps to generate, >= 1"),
    threshold: float = typer.Option(
        0.5, min=0.0, max=1.0, help="piano roll: probability in [0, 1] above which a cell is on"
    ),
    seed: int = typer.Option(0, min=0, help="random seed, >= 0 (same seed, same music)"),
) -> None:
    """Generate music from a trained checkpoint, without DVC or params.yaml."""
    from scorelab.pipeline.generate import generate_to_folder

    written = generate_to_folder(
        models / variant / "checkpoint.pt",
        out,
        n=n,
        melody=melody,
        seed_melody=seed_melody,
        temperature=temperature,
        max_steps=max_steps,
        threshold=threshold,
        seed=seed,
    )
    for path in written:
        typer.echo(str(path))


def main(argv: list[str] | None = None) -> None:
    """Console entry point: every error the user can fix is one line on stderr.

    A bad option value (``--n -3``, ``--temperature 0``, a missing file) is a usage error:
    ``error: Invalid value for '--n': Input should be greater than or equal to 1 (how many
    pieces, >= 1)`` (the option's help, which states its range, in brackets) and exit code 2, the
    convention of click (and so typer) for usage errors, checked before any work. A
    ScorelabError (bad input found while working: a corrupt checkpoint, a wrong params
    key) is one line and exit 1.
    """
    import sys

    from typer._click.exceptions import NoArgsIsHelpError, UsageError  # typer vendors click

    from scorelab.process import exit_on_error, quiet_waits

    quiet_waits()  # before any command can start torch's OpenMP threads

    def call() -> None:
        try:
            code = app(args=argv, standalone_mode=False)
        except NoArgsIsHelpError:
            app(args=["--help"])  # bare `scorelab`: the help, as before
        except UsageError as exc:
            message = " ".join(exc.format_message().split())
            hint = getattr(getattr(exc, "param", None), "help", None)  # says the valid range
            print(f"error: {message}" + (f" ({hint})" if hint else ""), file=sys.stderr)
            sys.exit(exc.exit_code)
        except typer.Abort:
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    exit_on_error(call)


if __name__ == "__main__":
    main()
