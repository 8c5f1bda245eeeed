"""Build the report: metric tables, loss curves, piano rolls with their sounds, the
papers' set pictures per variant, published numbers, and DVC plot data.

Inputs (all paths as the report stage receives them)::

    metrics_dir/data/<dataset>/{train,test,noise}.json headline numbers of real data (optional)
    metrics_dir/variants/<variant>/samples.json        required for every declared variant
    metrics_dir/variants/<variant>/accompaniment*.json optional
    evaluation_dir/<same paths>                        every metric with its interval and the
                                                       bins (histograms, matrices) (optional)
    evaluation_dir/<same paths>.pieces.parquet         per-piece tables, for MGEval (optional)
    logs_dir/<variant>/train_log.tsv (+ valid_log.tsv, latent_log.tsv) optional
    models_dir/<variant>/run_info.json                 optional (the device it trained on)
    samples_dir/<variant>/rolls.png, accompaniment.png, pieces.parquet, midi/*.mid,
        audio/*.wav                                    optional

Output: ``out_dir/README.md``, ``out_dir/index.html``, ``out_dir/figures/*.png``,
``out_dir/media/`` (the shown samples' audio clips and MIDI files, so the page plays
from a clone; :mod:`scorelab.report.media`) and
``out_dir/plots/headline.json`` (each variant's headline numbers, for ``dvc plots``),
replaced as a whole (atomically). Nothing in it depends on the clock, the host or
absolute paths: every link is inside ``out_dir``, so the same inputs give
the same bytes.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from scorelab.constants import MIDI_PITCHES
from scorelab.metrics.compare import MGEVAL_PIECES as REFERENCE_PIECES
from scorelab.metrics.compare import MGEvalResult
from scorelab.metrics.musical import LENGTH_LABELS, PC_LABELS
from scorelab.metrics.registry import PAIR_METRICS, PIECE_METRICS, SET_METRICS, headline_keys
from scorelab.pictures import (
    PITCH_CLASS_NAMES,
    SAMPLES_SHOWN,
    overlap_text,
    plot_losses,
    plot_mgeval_kdes,
    plot_pitch_class_histograms,
    plot_pitch_frequency,
    plot_quality,
    plot_transition_matrices,
)
from scorelab.report.dvc_plots import write_plot_data, write_quality_plots
from scorelab.report.ladder import ladder_blocks
from scorelab.report.media import BUDGET_BYTES, MEDIA_DIR, Media
from scorelab.report.published import COMPARABILITY_NOTE, NONE_PUBLISHED, PUBLISHED
from scorelab.report.render import (
    MISSING,
    Block,
    Heading,
    Image,
    Links,
    Paragraph,
    Samples,
    Table,
    safe_name,
    to_html,
    to_markdown,
)
from scorelab.report.sections import (
    audio_blocks,
    is_audio_dataset,
    is_audio_variant,
    json_or_empty,
    last_evaluation,
    next_column_blocks,
    training_extra_blocks,
)
from scorelab.report.summary import contents_block, summary_blocks
from scorelab.utils import atomic_dir, write_json
from scorelab.workers import draw, finish

TITLE = "scorelab report"
DATA_SPLITS = ("train", "test", "noise")  # noise: the codec's naive baseline (evaluate_data)
# accompaniment: S0's generated voices alone; accompaniment_texture: with the given melody
VARIANT_SETS = ("samples", "accompaniment", "accompaniment_texture")
MAX_LINKS = 8  # MIDI files listed per variant
# Each sample set's piano-roll picture, as pipeline/sample.py names it.
SET_PICTURES = {"samples": "rolls", "accompaniment": "accompaniment"}
MAIN_SET = "samples"  # the set every variant has: its pictures and its plot-data row
# MGEval's scalar features drawn as distance densities (S4 draws these among others).
KDE_FEATURES = ("unique_pitches", "pitch_range", "avg_IOI", "bar_used_note")
PLOT_DATA = "plots/headline.json"  # in out_dir; dvc.yaml's plots read it
# in out_dir: the one DVC metrics file (dvc.yaml `metrics:`), one headline number per
# variant, so `dvc exp show` and `dvc metrics diff` have one column per variant
SUMMARY_METRICS = "metrics.json"


def glossary() -> str:
    """What each headline column means, from the metric registry (name, unit, source)."""
    found = {**PIECE_METRICS, **SET_METRICS, **PAIR_METRICS}
    parts = [f"{k} ({found[k].unit}; {found[k].source})" for k in headline_keys()]
    return (
        "Columns: " + "; ".join(parts) + ". Piece metrics are means over a set's pieces; each value is "
        "followed by its 95 % bootstrap interval over pieces. relative is the headline score (see "
        "the summary): 1 is as close to the training data as the held-out test split, 0 as the "
        "naive baseline (random cells or symbols at the training data's rates). Variants are "
        "sorted by it. QN is MuseGAN's (notes of at least a 32nd note): 100 % on data quantized to "
        "16ths by construction, so it is in the full results, not here. Melody datasets keep no "
        "meter: real and generated Erk melodies are both judged in 4/4 bars."
    )


@dataclass(frozen=True)
class Variant:
    """A declared variant: its name, trainer, model and dataset."""

    name: str
    trainer: str
    model: str
    dataset: str


def declared_variants(params: dict) -> list[Variant]:
    """Variants of ``params["variants"]``, in file order."""
    return [
        Variant(name, str(spec.get("trainer", "")), str(spec.get("model", "")), str(spec["dataset"]))
        for name, spec in (params.get("variants") or {}).items()
    ]


def format_value(value: object) -> str:
    """A table cell: ints as they are, floats to 4 significant digits, None as a dash."""
    if value is None:
        return MISSING
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}"


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def with_intervals(headline: dict, full_path: Path) -> dict:
    """The headline values, each with ``<key>__ci`` = [lo, hi] from the full results if present."""
    out = dict(headline)
    if full_path.is_file():
        full = _read_json(full_path)
        for key in headline:
            if key in full.get("metrics", {}):
                out[f"{key}__ci"] = full["metrics"][key]["ci95"]
            elif key in full.get("pairs", {}):
                out[key] = full["pairs"][key]["value"]
        out["__bins"] = full.get("bins", {})
        out["__pairs"] = {k: v["value"] for k, v in full.get("pairs", {}).items()}
        out["__all"] = {k: v["value"] for k, v in full.get("metrics", {}).items()}
    return out


def collect_metrics(
    metrics_dir: Path, params: dict, evaluation_dir: Path | None = None
) -> dict[str, list[tuple[str, dict]]]:
    """Rows of each dataset's table: (label, metrics), data splits first, then variants
    sorted by their relative headline score (best first).

    Raises
    ------
    FileNotFoundError
        If a declared variant has no ``samples.json``; the message names the file.
    """
    variants = [v for v in declared_variants(params) if not is_audio_variant(metrics_dir, v.name)]
    datasets = list(params.get("datasets") or {})
    datasets += [v.dataset for v in variants if v.dataset not in datasets]
    datasets = [d for d in datasets if not is_audio_dataset(metrics_dir, d)]  # audio_blocks shows them
    tables: dict[str, list[tuple[str, dict]]] = {}
    for dataset in dict.fromkeys(datasets):
        rows = []
        for split in DATA_SPLITS:
            path = metrics_dir / "data" / dataset / f"{split}.json"
            if path.is_file():
                label = f"{dataset} {split}" if split != "noise" else f"{dataset} noise baseline"
                full = (evaluation_dir or metrics_dir) / "data" / dataset / f"{split}.json"
                rows.append((label, with_intervals(_read_json(path), full)))
        generated = []
        for v in (v for v in variants if v.dataset == dataset):
            for kind in VARIANT_SETS:
                path = metrics_dir / "variants" / v.name / f"{kind}.json"
                if path.is_file():
                    full = (evaluation_dir or metrics_dir) / "variants" / v.name / f"{kind}.json"
                    generated.append((f"{v.name} {kind}", with_intervals(_read_json(path), full)))
                elif kind == "samples":
                    raise FileNotFoundError(
                        f"{path}: metrics of variant {v.name!r} (trainer {v.trainer}) not found"
                    )
        rel = [m.get("relative") for _, m in generated]
        order = sorted(range(len(generated)), key=lambda i: (rel[i] is None, -(rel[i] or 0.0), i))
        rows += [generated[i] for i in order]
        if rows:
            tables[dataset] = rows
    return tables


def format_with_interval(m: dict, key: str) -> str:
    """``value [lo, hi]`` when the interval is known, else the value."""
    ci = m.get(f"{key}__ci")
    if ci and None not in ci and m.get(key) is not None:
        return f"{format_value(m.get(key))} [{format_value(ci[0])}, {format_value(ci[1])}]"
    return format_value(m.get(key))


def metric_table(rows: list[tuple[str, dict]]) -> Table:
    """The headline table: one row per set, each headline metric with its interval, then the
    headline score's relative value and verdict."""
    keys = [k for k in headline_keys() if any(k in m for _, m in rows)]
    keys += [k for k in ("relative", "verdict") if any(k in m for _, m in rows)]
    return Table(
        ("set", *keys), tuple((label, *(format_with_interval(m, k) for k in keys)) for label, m in rows)
    )


HEADLINE_KEYS = ("EB", "UPC", "unique_pitches", "diversity")  # the training seam issue's headline


def baseline_table(dataset: str, rows: list[tuple[str, dict]]) -> Table | None:
    """Each variant's sample set against the dataset's naive baseline, on the headline metrics.

    A metric is "closer" when the variant's value is nearer the training data's than the
    naive baseline's is (a tie counts as not closer). Returns None when the dataset has
    no train row, no baseline row or no sample set.
    """
    found = dict(rows)
    train, noise = found.get(f"{dataset} train"), found.get(f"{dataset} noise baseline")
    samples = [(label, m) for label, m in rows if label.endswith(" samples")]
    if train is None or noise is None or not samples:
        return None
    out = []
    for label, m in samples:
        closer, not_closer = [], []
        for key in HEADLINE_KEYS:
            if None in (train.get(key), noise.get(key), m.get(key)):
                continue
            if abs(m[key] - train[key]) < abs(noise[key] - train[key]):
                closer.append(key)
            else:
                not_closer.append(key)
        out.append(
            (label.removesuffix(" samples"), ", ".join(closer) or MISSING, ", ".join(not_closer) or MISSING)
        )
    return Table(("variant", "closer to the data than the naive baseline", "not closer"), tuple(out))


def pitch_class_rows(rows: list[tuple[str, dict]]) -> dict[str, list[float | None]]:
    """Each set's mean pitch-class histogram in C, C#, ... B order (the JSON's keys are
    sorted alphabetically, A first); sets without one are left out.
    """
    out = {}
    for label, m in rows:
        bins = m.get("__bins", {}).get("pitch_class_histogram", {})
        values = [bins.get(c) for c in PC_LABELS]
        if any(v is not None for v in values):
            out[label] = values
    return out


def _metric_blocks(tables: dict[str, list[tuple[str, dict]]], params: dict, figures: Path) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Metrics"), Paragraph(glossary())]
    for dataset, rows in tables.items():
        spec = (params.get("datasets") or {}).get(dataset, {})
        about = ", ".join(f"{k} {spec[k]}" for k in ("corpus", "codec") if k in spec)
        blocks += [Heading(3, dataset + (f" ({about})" if about else "")), metric_table(rows)]
        versus = baseline_table(dataset, rows)
        if versus is not None:
            blocks += [
                Paragraph(
                    f"Against the naive baseline ({dataset} noise baseline), on {', '.join(HEADLINE_KEYS)}: "
                    "where a variant is not closer to the training data than noise, it has not "
                    "learned what that metric sees."
                ),
                versus,
            ]
        pch = pitch_class_rows(rows)
        if pch:
            name = f"pch_{safe_name(dataset)}.png"
            draw(plot_pitch_class_histograms, pch, figures / name, title=f"{dataset}: pitch-class histogram")
            blocks.append(Image(f"figures/{name}", f"{dataset} pitch-class histograms"))
    return blocks


FIDELITY_COLUMNS = (
    ("pieces_filtered", "pieces filtered"),
    ("meter_changed", "meter not kept"),
    ("out_of_range", "notes out of range"),
    ("dropped", "notes dropped"),
    ("moved", "notes moved"),
    ("shortened", "notes shortened"),
    ("lengthened", "notes lengthened"),
    ("extra", "notes added"),
)


def _percent(x: object) -> str:
    return MISSING if x is None else f"{100 * float(x):.2f} %"


def fidelity_blocks(params: dict, evaluation_dir: Path) -> list[Block]:
    """What each codec loses of its corpus (``evaluation/data/<d>/fidelity.json``), one row
    per dataset, with the filters that refused pieces; nothing when no file exists.
    """
    rows = []
    reasons = []
    for dataset in params.get("datasets") or {}:
        path = evaluation_dir / "data" / dataset / "fidelity.json"
        if not path.is_file():
            continue
        f = _read_json(path)
        kept = f"{f['pieces_kept']} of {f['pieces']}"
        rows.append((dataset, kept, *(_percent(f.get(k)) for k, _ in FIDELITY_COLUMNS)))
        if f.get("filtered_by"):
            reasons.append(f"{dataset}: " + ", ".join(f"{k} {v}" for k, v in f["filtered_by"].items()))
    if not rows:
        return []
    return [
        Heading(2, "What the encodings lose"),
        Paragraph(
            "Each corpus encoded whole and decoded back, note by note (src/scorelab/codecs/fidelity.py): "
            "a note is matched to a decoded note of the same track and pitch within half a grid step. "
            "Every metric above is computed on what the codec kept. 'Dropped' notes merged into a "
            "neighbour: a binary piano roll cannot tell a repeated pitch from a held one, nor two "
            "voices in unison on one merged track, and the note before absorbs them ('lengthened'). "
            "QN is 100 % on these grids by construction: every kept note lasts at least a 16th."
        ),
        Table(("dataset", "pieces kept", *(label for _, label in FIDELITY_COLUMNS)), tuple(rows)),
        Paragraph(
            "Pieces refused, by filter: " + "; ".join(reasons) + "." if reasons else "No piece refused."
        ),
    ]


SEEDS_COMMAND = (
    "for s in 1 2 3 4; do dvc exp run --queue -n s0-seed$s -S base.seed=$s evaluate@s0_wgan_gp_jsb; done; "
    "dvc exp run --run-all -j 1; scorelab seeds; dvc repro report"
)


def _spread(m: dict) -> str:
    if m.get("mean") is None:
        return MISSING
    sd = f" ± {format_value(m['sd'])}" if m.get("sd") is not None else ""
    return f"{format_value(m['mean'])}{sd} [{format_value(m['min'])}, {format_value(m['max'])}]"


def seed_blocks(seeds_path: Path | None) -> list[Block]:
    """The spread of each headline metric across seeds, from ``seeds.json`` (scorelab.seeds).

    Without runs the section still says how to make them: one run's number is not a result.
    """
    blocks: list[Block] = [Heading(2, "Spread across seeds")]
    data = json_or_empty(Path(seeds_path)) if seeds_path is not None else {}
    variants = data.get("variants") or {}
    if not variants:
        blocks.append(
            Paragraph(
                "No variant has been rerun with other seeds yet: every number above is one run's, "
                "with its bootstrap interval over pieces, which does not cover the run-to-run "
                f"spread of training. To measure it (here for S0): {SEEDS_COMMAND}"
            )
        )
        return blocks
    seeds = sorted({r["seed"] for r in data.get("runs", [])})
    blocks.append(
        Paragraph(
            f"DVC experiments that changed only base.seed (seeds {', '.join(map(str, seeds))}) plus the "
            "committed run, gathered by `scorelab seeds`: mean ± standard deviation across seeds "
            "[lowest, highest]."
        )
    )
    for variant, sets in variants.items():
        rows = []
        for set_name, metrics in sets.items():
            for key, m in metrics.items():
                by_seed = ", ".join(f"{s}: {format_value(v)}" for s, v in m["by_seed"].items())
                rows.append((set_name, key, str(m["n"]), _spread(m), by_seed))
        blocks += [
            Heading(3, variant),
            Table(("set", "metric", "seeds", "across seeds", "each seed"), tuple(rows)),
        ]
    return blocks


def _loss_blocks(variants: list[Variant], logs_dir: Path, figures: Path) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Training losses")]
    found = False
    for v in variants:
        tsv = logs_dir / v.name / "train_log.tsv"
        if tsv.is_file():
            name = f"losses_{safe_name(v.name)}.png"
            draw(plot_losses, {v.name: tsv}, figures / name)
            blocks += [Heading(3, v.name), Image(f"figures/{name}", f"{v.name} loss curves")]
            blocks += training_extra_blocks(v, logs_dir, figures)
            found = True
    if not found:
        blocks.append(Paragraph("No training logs found."))
    return blocks + likelihood_blocks(variants, logs_dir) + next_column_blocks(variants, logs_dir)


def likelihood_blocks(variants: list[Variant], logs_dir: Path) -> list[Block]:
    """The likelihood models' held-out fit: the last epoch's test negative log-likelihood.

    The likelihood trainer logs it per epoch in ``valid_log.tsv`` as the mean cross-entropy
    of the next token in nats; a token is one symbol of the codec (a 16th-note grid step
    for melody tokens). Shown also in bits and as perplexity, which do not depend on the
    logarithm's base.
    """
    rows = []
    for v in variants:
        last = last_evaluation(logs_dir, v.name, "valid_loss")  # the frames trainer's are in the ladder
        if last is None or "test_nll" not in last:
            continue
        nll = float(last["test_nll"])
        rows.append(
            (
                v.name,
                v.dataset,
                str(int(last["epoch"])),
                f"{nll:.4f}",
                f"{nll / np.log(2):.4f}",
                f"{np.exp(nll):.3f}",
            )
        )
    if not rows:
        return []
    header = ("variant", "dataset", "epochs", "test NLL (nats/token)", "bits/token", "perplexity")
    return [
        Heading(3, "Held-out likelihood"),
        Paragraph(
            "Mean negative log-likelihood of each next token of the test split after the last epoch "
            "(a token is one codec symbol: for melody tokens, one 16th-note step)."
        ),
        Table(header, tuple(rows)),
    ]


def _file_links(
    folder: Path, pattern: str, media: Media, owner: str
) -> tuple[tuple[tuple[str, str], ...], int]:
    """The first ``MAX_LINKS`` files matching ``pattern`` (sorted), copied into the report's
    media, and how many there are."""
    files = sorted(folder.glob(pattern)) if folder.is_dir() else []
    return tuple((f.name, media.copy(f, owner)) for f in files[:MAX_LINKS]), len(files)


def shown_samples(
    folder: Path, set_name: str, media: Media, owner: str
) -> tuple[int, tuple[tuple[str, str, str], ...]]:
    """How many pieces of ``set_name`` its picture draws, and (piece, audio link, MIDI link)
    of those that have both files, in the picture's order; the links are to the clips and
    copies in the report's own media folder (:mod:`scorelab.report.media`).

    The sample stage draws the first ``SAMPLES_SHOWN`` pieces of a set in the order its
    ``pieces.parquet`` lists them, names every file after its piece, and renders the
    same pieces to audio: so the rows follow the picture's panels (a piece drawn without
    a WAV, from an older sample stage, gets no row). No ``pieces.parquet``: (0, ()).
    """
    table = folder / "pieces.parquet"
    if not table.is_file():
        return 0, ()
    pieces = pd.read_parquet(table, columns=["piece_id", "split"])
    drawn = pieces.loc[pieces["split"] == set_name, "piece_id"].head(SAMPLES_SHOWN).tolist()
    rows = []
    for piece in drawn:
        wav, mid = folder / "audio" / f"{piece}.wav", folder / "midi" / f"{piece}.mid"
        if wav.is_file() and mid.is_file():
            rows.append((piece, media.clip(wav, owner), media.copy(mid, owner)))
    return len(drawn), tuple(rows)


def _sample_blocks(v: Variant, folder: Path, media: Media, figures: Path) -> list[Block]:
    """Each set's piano-roll picture with its pieces to listen to, then the MIDI files."""
    blocks: list[Block] = []
    for set_name, picture in SET_PICTURES.items():
        source = folder / f"{picture}.png"
        if source.is_file():
            name = f"{picture}_{safe_name(v.name)}.png"
            shutil.copyfile(source, figures / name)
            blocks.append(Image(f"figures/{name}", f"{v.name} {picture}"))
        drawn, rows = shown_samples(folder, set_name, media, v.name)
        if rows:
            blocks += [
                Paragraph(
                    f"{set_name}: {len(rows)} of the {drawn} pieces of the picture, in its order, "
                    "as audio and MIDI:"
                ),
                Samples(rows),
            ]
    links, total = _file_links(folder, "midi/*.mid", media, v.name)
    if links:
        shown = f" (first {len(links)} of {total})" if total > len(links) else ""
        blocks += [Paragraph(f"MIDI files{shown}:"), Links(links)]
    return blocks or [Paragraph("No samples found.")]


# (bins key, name of its classes, bin labels in the JSON, tick labels) of S4's transition matrices
TRANSITIONS = (
    ("pitch_class_transitions", "pitch class", PC_LABELS, PITCH_CLASS_NAMES),
    ("note_length_transitions", "note-length class (1/8 s)", LENGTH_LABELS, LENGTH_LABELS),
)


def square_matrix(bins: dict[str, float | None], labels: Sequence[str]) -> np.ndarray:
    """The ``"a>b"`` bins as a matrix, row a (previous), column b (next); None reads as 0."""
    return np.array([[bins.get(f"{a}>{b}") or 0.0 for b in labels] for a in labels], dtype=np.float64)


def mgeval_results(compare_json: Path) -> dict[str, MGEvalResult]:
    """MGEval's comparison of each ``KDE_FEATURES`` feature as the evaluate stage wrote it:
    the numbers from ``<set>.compare.json``, the densities from the
    ``<set>.mgeval_curves.npz`` beside it. Nothing is recomputed, so the overlaps drawn
    are the ones reported. A feature with no defined overlap (fewer than two training
    pieces) or no curves is left out; {} when either file is missing.
    """
    curves_path = Path(str(compare_json).removesuffix(".compare.json") + ".mgeval_curves.npz")
    if not Path(compare_json).is_file() or not curves_path.is_file():
        return {}
    numbers = _read_json(Path(compare_json)).get("mgeval", {})
    with np.load(curves_path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    out = {}
    for feature in KDE_FEATURES:
        summary = numbers.get(feature)
        if summary is None or summary.get("overlap") is None or f"{feature}.grid" not in arrays:
            continue
        out[feature] = MGEvalResult(
            **{k: float("nan") if v is None else float(v) for k, v in summary.items()},
            grid=arrays[f"{feature}.grid"],
            pdf_intra_a=arrays[f"{feature}.intra_a"],
            pdf_intra_b=arrays[f"{feature}.intra_b"],
            pdf_inter=arrays[f"{feature}.inter"],
        )
    return out


def _distribution_blocks(v: Variant, found: dict[str, dict], evaluation: Path, figures: Path) -> list[Block]:
    """The variant's main set against its training set: transitions, pitch bars, MGEval.

    Each figure needs its inputs on both sides (the bins in the full results, the
    per-piece tables) and is left out without them.
    """
    gen_bins = found.get(f"{v.name} {MAIN_SET}", {}).get("__bins", {})
    train_bins = found.get(f"{v.dataset} train", {}).get("__bins", {})
    about = f"{v.name} {MAIN_SET} vs {v.dataset} train"
    blocks: list[Block] = []
    kinds = [
        (name, ticks, square_matrix(gen_bins[key], keys), square_matrix(train_bins[key], keys))
        for key, name, keys, ticks in TRANSITIONS
        if key in gen_bins and key in train_bins
    ]
    if kinds:
        png = f"transitions_{safe_name(v.name)}.png"
        draw(plot_transition_matrices, kinds, figures / png, title=f"{about}: mean transition matrices")
        blocks.append(Image(f"figures/{png}", f"{about}: transition matrices"))
    if "pitch_frequency" in gen_bins and "pitch_frequency" in train_bins:
        g, t = (
            [b["pitch_frequency"].get(str(i)) for i in range(MIDI_PITCHES)] for b in (gen_bins, train_bins)
        )
        if any(g) or any(t):
            png = f"pitches_{safe_name(v.name)}.png"
            draw(plot_pitch_frequency, g, t, figures / png, title=f"{about}: note frequency per pitch")
            blocks.append(Image(f"figures/{png}", f"{about}: note frequency per pitch"))
    results = mgeval_results(evaluation / "variants" / v.name / f"{MAIN_SET}.compare.json")
    if results:
        png = f"mgeval_{safe_name(v.name)}.png"
        draw(plot_mgeval_kdes, results, figures / png, title=f"{about}: MGEval distance densities")
        overlaps = ", ".join(f"{f} {overlap_text(r.overlap)}" for f, r in results.items())
        blocks += [
            Image(f"figures/{png}", f"{about}: MGEval distance densities"),
            Paragraph(f"MGEval overlap with the training set: {overlaps}."),
        ]
    return blocks


def quality_blocks(v: Variant, metrics_dir: Path, figures: Path) -> list[Block]:
    """The variant's quality curve (its relative score against training steps), if logged."""
    tsv = metrics_dir / "variants" / v.name / "quality_log.tsv"
    if not tsv.is_file():
        return []
    png = f"quality_{safe_name(v.name)}.png"
    draw(plot_quality, tsv, figures / png, f"{v.name}: relative headline score during training")
    head = _read_json(metrics_dir / "variants" / v.name / f"{MAIN_SET}.json")
    return [
        Image(f"figures/{png}", f"{v.name}: relative headline score during training"),
        Paragraph(
            "The same noise (seed) sampled from the weights at each eighth of training and scored as "
            f"the final samples are. Still improving over the last quarter: {head.get('improving', MISSING)}."
        ),
    ]


def _variant_blocks(
    variants: list[Variant],
    tables: dict[str, list[tuple[str, dict]]],
    metrics_dir: Path,
    samples_dir: Path,
    evaluation: Path,
    media: Media,
    figures: Path,
) -> list[Block]:
    blocks: list[Block] = [
        Heading(2, "Samples and distributions"),
        Paragraph(
            f"Per variant: its piano rolls, the pieces drawn there as audio and MIDI, and its "
            f"{MAIN_SET} set beside its training set as the papers draw them. Transition "
            "matrices (S4): pitch class and note length, row the previous note and column the "
            "next, as shares of all transitions, one colour scale per pair. Note frequency per "
            "MIDI pitch (S2), with the generated minus the training share below. MGEval's "
            "distance densities (Yang & Lerch 2020, as S4): the training set's intra-set "
            "distances against the inter-set distances from generated to training pieces, on "
            f"up to {REFERENCE_PIECES} evenly spread pieces of each; their overlap area is 1 "
            "when a generated piece sits among the training pieces as a training piece does."
        ),
    ]
    for v in variants:
        blocks.append(Heading(3, f"{v.name} ({v.trainer}, {v.model} on {v.dataset})"))
        blocks += quality_blocks(v, metrics_dir, figures)
        blocks += _sample_blocks(v, samples_dir / v.name, media, figures)
        blocks += _distribution_blocks(v, dict(tables.get(v.dataset, [])), evaluation, figures)
    return blocks


def plot_rows(variants: list[Variant], metrics_dir: Path) -> list[dict]:
    """One row per variant: its main set's headline numbers (None where missing).

    ``dvc plots`` draws bars from these rows (see dvc.yaml), so ``dvc plots diff``
    puts each variant's numbers at two revisions side by side.
    """
    keys = [*headline_keys(), "score", "relative"]
    rows = []
    for v in variants:
        if is_audio_variant(metrics_dir, v.name):
            continue  # no note metrics (their MSE and SNR are in the report's audio section)
        m = _read_json(metrics_dir / "variants" / v.name / f"{MAIN_SET}.json")
        rows.append({"variant": v.name, "set": MAIN_SET, "dataset": v.dataset, **{k: m.get(k) for k in keys}})
    return rows


def summary_metrics(rows: list[dict]) -> dict:
    """``{variant: headline score}`` from :func:`plot_rows` (rounded to 6 digits).

    The headline score is the variant's ``relative`` score on its samples
    (:mod:`scorelab.metrics.headline`: 1 = the test split, 0 = the naive baseline).
    Per-feature values stay in ``metrics/variants/<v>/*.json`` (``dvc metrics show
    --targets`` reads them): declaring those as DVC metrics gave ``dvc exp show`` seven
    columns per variant.
    """
    return {r["variant"]: None if r.get("relative") is None else round(float(r["relative"]), 6) for r in rows}


def _ours(t, tables: dict[str, list[tuple[str, dict]]]) -> tuple[tuple[str, ...], ...]:
    """Our rows for a published table: the same quantities on its stand-in dataset."""
    out = []
    for label, m in tables.get(t.dataset, []):
        if label.endswith(" test") or label.endswith("_texture"):
            continue
        values = {
            **m.get("__all", {}),
            **m.get("__pairs", {}),
            **{k: v for k, v in m.items() if not k.startswith("__")},
        }
        out.append((f"ours: {label}", *(format_value(values.get(k)) for k in t.keys)))
    return tuple(out)


def _whole_song_rows(t, tables: dict[str, list[tuple[str, dict]]], evaluation: Path | None) -> tuple:
    """Our rows on whole songs for a table whose paper measured whole files: the data's
    training songs, then each generated set against them (``*.whole_songs.json``)."""
    if not t.whole_songs or evaluation is None:
        return ()
    out = []
    data = evaluation / "data" / t.dataset / "whole_songs.json"
    if data.is_file():
        d = _read_json(data)
        out.append(
            (f"ours: {t.dataset} train, {d['pieces']} whole songs", *(format_value(d.get(k)) for k in t.keys))
        )
    for label, m in tables.get(t.dataset, []):
        name, _, kind = label.partition(" ")
        path = evaluation / "variants" / name / f"{kind}.whole_songs.json"
        if path.is_file():
            d = _read_json(path)
            values = {**m.get("__all", {}), **{k: v for k, v in m.items() if not k.startswith("__")}, **d}
            out.append(
                (f"ours: {label} against the whole songs", *(format_value(values.get(k)) for k in t.keys))
            )
    return tuple(out)


def _published_blocks(
    tables: dict[str, list[tuple[str, dict]]] | None = None, evaluation: Path | None = None
) -> list[Block]:
    blocks: list[Block] = [
        Heading(2, "Published numbers, and ours beside them"),
        Paragraph(COMPARABILITY_NOTE),
        Paragraph(NONE_PUBLISHED),
    ]
    for t in PUBLISHED:
        rows = tuple((f"paper: {label}", *(f"{x:g}" for x in v)) for label, v in t.rows)
        rows += _ours(t, tables or {})
        rows += _whole_song_rows(t, tables or {}, evaluation)
        blocks += [
            Heading(3, f"{t.paper}: {t.title}"),
            Paragraph(f"Paper's corpus: {t.corpus}. Ours: dataset {t.dataset}."),
            Table(("system", *t.columns), rows),
        ]
        if t.note:
            blocks.append(Paragraph(t.note))
    return blocks


def trained_on(models_dir: Path | None, name: str, timings_dir: Path | None = None) -> str:
    """Where a variant trained, from its ``run_info.json``: "Intel Xeon (cpu, 2 threads)",
    "NVIDIA A100 (cuda:0, 2 processes)"; MISSING when the file is absent."""
    info_path = Path(models_dir) / name / "run_info.json" if models_dir else None
    if info_path is None or not info_path.is_file():
        return MISSING
    info = _read_json(info_path)
    how = [str(info.get("device", MISSING))]
    if info.get("device") == "cpu":
        how.append(f"{info.get('compute', {}).get('threads', MISSING)} threads")
    if int(info.get("processes", 1)) > 1:
        how.append(f"{info['processes']} processes")
    if info.get("compile"):
        how.append("compiled")
    took = ""
    timing = Path(timings_dir) / f"{name}.json" if timings_dir else None
    if timing is not None and timing.is_file():
        record = _read_json(timing)
        took = f", {_duration(record['seconds'])}"
        if "others_cpu_share" in record:  # the machine's other work while it trained
            took += f", others using {float(record['others_cpu_share']):.0%} of the CPUs"
    return f"{info.get('device_name') or MISSING} ({', '.join(how)}){took}"


def _duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``: a training time as a reader reads it."""
    seconds = round(float(seconds))
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60:02d} s"


def _run_blocks(
    params: dict, variants: list[Variant], models_dir: Path | None = None, provenance: dict | None = None
) -> list[Block]:
    base = params.get("base", {})
    prov = provenance or {}
    built = (
        f"Built from commit {prov.get('commit', MISSING)} ({prov.get('date', MISSING)})"
        + (" with uncommitted changes" if prov.get("dirty") else "")
        + f", scorelab {prov.get('version', MISSING)}. "
    )
    blocks: list[Block] = [
        Heading(1, TITLE),
        Paragraph(built + f"Profile: {base.get('profile', MISSING)}. Seed: {base.get('seed', MISSING)}."),
    ]
    if prov.get("only_of"):  # params narrowed to part of the zoo (run_report's `only`)
        covers = f"This report covers {len(variants)} of the {prov['only_of']} variants"
        blocks.append(Paragraph(covers + " (report --only)."))
    if variants:
        rows = tuple(
            (v.name, v.trainer, v.model, v.dataset, trained_on(models_dir, v.name)) for v in variants
        )
        blocks += [
            Heading(2, "Variants"),
            Table(("variant", "trainer", "model", "dataset", "trained on"), rows),
        ]
    return blocks


def build_report(
    out_dir: Path,
    metrics_dir: Path,
    logs_dir: Path,
    samples_dir: Path,
    params: dict,
    evaluation_dir: Path | None = None,
    seeds_path: Path | None = None,
    models_dir: Path | None = None,
    provenance: dict | None = None,
    timings_dir: Path | None = None,
    budget_path: Path | None = None,
) -> None:
    """Write ``out_dir/README.md``, ``out_dir/index.html``, ``out_dir/figures/`` and
    ``out_dir/plots/headline.json``.

    One table of metrics per dataset (rows "<dataset> train", "<dataset> test", then
    "<variant> samples" and "<variant> accompaniment" for each variant on it; the
    pitch-class columns drawn as a bar chart instead), loss curves per variant; per
    variant, the sample piano rolls (copied into ``figures/``) each followed by its
    pieces that have audio (player and MIDI link, into ``out_dir/media``), links to at
    most ``MAX_LINKS`` MIDI files, and its samples beside the training set (transition
    matrices, note frequency per pitch, MGEval densities); the papers' published
    numbers, and the profile and seed. ``out_dir`` is replaced as a whole; optional
    inputs that are missing are left out.

    Parameters
    ----------
    out_dir, metrics_dir, logs_dir, samples_dir
        See the module docstring for the layout read.
    params
        The parsed params.yaml (``base``, ``datasets``, ``variants``, ``evaluate``).
    models_dir
        ``<variant>/run_info.json`` of each variant: the device it trained on (and its
        name, thread or process count) in the variants table.
    provenance
        ``commit``, ``date`` (the commit's), ``dirty`` and ``version``, shown under the
        title (the report stage reads them from git); not the clock, so the same
        inputs at the same commit give the same bytes. ``only_of``: params were narrowed
        to some variants of that many (``make try``), which the page says.
    timings_dir
        ``<variant>.json`` with the measured training seconds (written by the train
        stage beside, not inside, its DVC output), shown with the device when present.
    budget_path
        benchmarks/results/transformer_budget.json: what the reference Transformers reach
        with more steps than this run gives them (a committed measurement, not this run's).

    Raises
    ------
    FileNotFoundError
        If a declared variant has no ``samples.json`` (named in the message).
    """
    out_dir, metrics_dir = Path(out_dir), Path(metrics_dir)
    evaluation = Path(evaluation_dir) if evaluation_dir else metrics_dir
    variants = declared_variants(params)
    tables = collect_metrics(metrics_dir, params, evaluation_dir)  # fails before anything is written
    with atomic_dir(out_dir) as tmp:
        figures = tmp / "figures"
        figures.mkdir()
        head = _run_blocks(params, variants, models_dir, provenance)
        blocks = _metric_blocks(tables, params, figures)
        blocks += fidelity_blocks(params, evaluation)
        blocks += seed_blocks(seeds_path)
        blocks += _loss_blocks(variants, Path(logs_dir), figures)
        notes = [v for v in variants if not is_audio_variant(metrics_dir, v.name)]
        media = Media()
        blocks += _variant_blocks(notes, tables, metrics_dir, Path(samples_dir), evaluation, media, figures)
        blocks += audio_blocks(
            variants, metrics_dir, Path(samples_dir), lambda p: media.clip(p, p.parent.parent.name)
        )
        blocks += _published_blocks(tables, evaluation)
        blocks += ladder_blocks(variants, metrics_dir, Path(logs_dir), figures)
        anchors = {
            v.name: b.anchor
            for v in variants
            for b in blocks
            if isinstance(b, Heading)
            and b.level == 3
            and (b.text == v.name or b.text.startswith(f"{v.name} "))
        }
        summary = summary_blocks(
            variants,
            metrics_dir,
            evaluation,
            lambda name: trained_on(models_dir, name, timings_dir),
            lambda name: anchors.get(name, ""),
            json_or_empty(Path(budget_path)) if budget_path is not None else {},
        )
        written = media.write(tmp)
        if written["clips"] or written["files"]:
            blocks.append(
                Paragraph(
                    f"Audio and MIDI on this page are copies in {MEDIA_DIR}/, committed with the report so "
                    f"they play from a clone: {written['clips']} clips (the first "
                    f"{written['clip_seconds']:g} s of each piece, mono Ogg Vorbis) and "
                    f"{written['files']} MIDI files, "
                    f"{written['bytes'] / 1e6:.2f} MB of the {BUDGET_BYTES / 1e6:g} MB budget."
                )
            )
        body = summary + head[2:] + blocks
        blocks = [*head[:2], Heading(2, "Contents"), contents_block(body), *body]
        (tmp / "README.md").write_text(to_markdown(blocks), encoding="utf-8")
        (tmp / "index.html").write_text(to_html(blocks, TITLE), encoding="utf-8")
        rows = plot_rows(variants, metrics_dir)
        write_json(tmp / PLOT_DATA, rows)
        write_json(tmp / SUMMARY_METRICS, summary_metrics(rows))
        write_plot_data([v.name for v in variants], Path(logs_dir), tmp)
        write_quality_plots([v.name for v in variants], metrics_dir, tmp)
        # the figures and clips handed to the stage's worker processes (scorelab.workers):
        # all written before the folder takes out_dir's place
        finish()
