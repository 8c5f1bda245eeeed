"""Build the report: metric tables, loss curves, piano rolls, sample links, published numbers.

Inputs (all paths as the report stage receives them)::

    metrics_dir/data/<dataset>/{train,test,noise}.json headline numbers of real data (optional)
    metrics_dir/variants/<variant>/samples.json        required for every declared variant
    metrics_dir/variants/<variant>/accompaniment*.json optional
    evaluation_dir/<same paths>                        every metric with its interval (optional)
    logs_dir/<variant>/train_log.tsv (+ valid_log.tsv) optional
    samples_dir/<variant>/rolls.png, accompaniment.png, midi/*.mid, audio/*.wav  optional

Output: ``out_dir/README.md``, ``out_dir/index.html`` and ``out_dir/figures/*.png``,
replaced as a whole (atomically). Nothing in it depends on the clock, the host or
absolute paths: links to samples are relative to ``out_dir``, so the same inputs give
the same bytes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from scorelab.metrics.musical import PC_LABELS
from scorelab.metrics.registry import PAIR_METRICS, PIECE_METRICS, SET_METRICS, headline_keys
from scorelab.report.pictures import plot_losses, plot_pitch_class_histograms
from scorelab.report.published import COMPARABILITY_NOTE, PUBLISHED
from scorelab.report.render import Block, Heading, Image, Links, Paragraph, Table, to_html, to_markdown
from scorelab.utils import atomic_dir

TITLE = "scorelab report"
DATA_SPLITS = ("train", "test", "noise")  # noise: the codec's naive baseline (evaluate_data)
# accompaniment: S0's generated voices alone; accompaniment_texture: with the given melody
VARIANT_SETS = ("samples", "accompaniment", "accompaniment_texture")
MAX_LINKS = 8  # sample files listed per variant and kind
MISSING = "–"


def glossary() -> str:
    """What each headline column means, from the metric registry (name, unit, source)."""
    found = {**PIECE_METRICS, **SET_METRICS, **PAIR_METRICS}
    parts = [f"{k} ({found[k].unit}; {found[k].source})" for k in headline_keys()]
    return (
        "Columns: " + "; ".join(parts) + ". Piece metrics are means over a set's pieces; each value is "
        "followed by its 95 % bootstrap interval over pieces. norm_dev is the normalized deviation "
        "from the training data, averaged over these metrics: 0 is like the data, 1 no better than "
        "the naive baseline (random cells or symbols at the training data's rates). Variants are "
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


def safe_name(name: str) -> str:
    """A name usable in a file name."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


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
    sorted by their normalized deviation (best first).

    Raises
    ------
    FileNotFoundError
        If a declared variant has no ``samples.json``; the message names the file.
    """
    variants = declared_variants(params)
    datasets = list(params.get("datasets") or {})
    datasets += [v.dataset for v in variants if v.dataset not in datasets]
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
        nd = [m.get("norm_dev") for _, m in generated]
        order = sorted(range(len(generated)), key=lambda i: (nd[i] is None, nd[i] or 0.0, i))
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
    """The headline table: one row per set, each headline metric with its interval, then norm_dev."""
    keys = [k for k in headline_keys() if any(k in m for _, m in rows)]
    if any("norm_dev" in m for _, m in rows):
        keys.append("norm_dev")
    return Table(
        ("set", *keys), tuple((label, *(format_with_interval(m, k) for k in keys)) for label, m in rows)
    )


def relative_link(path: Path, out_dir: Path) -> str:
    """``path`` relative to ``out_dir`` as a POSIX string (no symlink resolution)."""
    return Path(os.path.relpath(os.path.abspath(path), os.path.abspath(out_dir))).as_posix()


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
            plot_pitch_class_histograms(pch, figures / name, title=f"{dataset}: pitch-class histogram")
            blocks.append(Image(f"figures/{name}", f"{dataset} pitch-class histograms"))
    return blocks


def _loss_blocks(variants: list[Variant], logs_dir: Path, figures: Path) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Training losses")]
    found = False
    for v in variants:
        tsv = logs_dir / v.name / "train_log.tsv"
        if tsv.is_file():
            name = f"losses_{safe_name(v.name)}.png"
            plot_losses({v.name: tsv}, figures / name)
            blocks += [Heading(3, v.name), Image(f"figures/{name}", f"{v.name} loss curves")]
            found = True
    if not found:
        blocks.append(Paragraph("No training logs found."))
    return blocks


def _file_links(folder: Path, pattern: str, out_dir: Path) -> tuple[tuple[tuple[str, str], ...], int]:
    """The first ``MAX_LINKS`` files matching ``pattern`` (sorted) and how many there are."""
    files = sorted(folder.glob(pattern)) if folder.is_dir() else []
    return tuple((f.name, relative_link(f, out_dir)) for f in files[:MAX_LINKS]), len(files)


def _sample_blocks(variants: list[Variant], samples_dir: Path, out_dir: Path, figures: Path) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Samples")]
    for v in variants:
        folder = samples_dir / v.name
        blocks.append(Heading(3, f"{v.name} ({v.trainer}, {v.model} on {v.dataset})"))
        before = len(blocks)
        for picture in ("rolls", "accompaniment"):
            source = folder / f"{picture}.png"
            if source.is_file():
                name = f"{picture}_{safe_name(v.name)}.png"
                shutil.copyfile(source, figures / name)
                blocks.append(Image(f"figures/{name}", f"{v.name} {picture}"))
        for kind, pattern, audio in (("MIDI", "midi/*.mid", False), ("Audio", "audio/*.wav", True)):
            links, total = _file_links(folder, pattern, out_dir)
            if links:
                shown = f" (first {len(links)} of {total})" if total > len(links) else ""
                blocks += [Paragraph(f"{kind} files{shown}:"), Links(links, audio=audio)]
        if len(blocks) == before:
            blocks.append(Paragraph("No samples found."))
    return blocks


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


def _published_blocks(tables: dict[str, list[tuple[str, dict]]] | None = None) -> list[Block]:
    blocks: list[Block] = [
        Heading(2, "Published numbers, and ours beside them"),
        Paragraph(COMPARABILITY_NOTE),
    ]
    for t in PUBLISHED:
        rows = tuple((f"paper: {label}", *(f"{x:g}" for x in v)) for label, v in t.rows)
        rows += _ours(t, tables or {})
        blocks += [
            Heading(3, f"{t.paper}: {t.title}"),
            Paragraph(f"Paper's corpus: {t.corpus}. Ours: dataset {t.dataset}."),
            Table(("system", *t.columns), rows),
        ]
        if t.note:
            blocks.append(Paragraph(t.note))
    return blocks


def _run_blocks(params: dict, variants: list[Variant]) -> list[Block]:
    base = params.get("base", {})
    blocks: list[Block] = [
        Heading(1, TITLE),
        Paragraph(f"Profile: {base.get('profile', MISSING)}. Seed: {base.get('seed', MISSING)}."),
    ]
    if variants:
        rows = tuple((v.name, v.trainer, v.model, v.dataset) for v in variants)
        blocks += [Heading(2, "Variants"), Table(("variant", "trainer", "model", "dataset"), rows)]
    return blocks


def build_report(
    out_dir: Path,
    metrics_dir: Path,
    logs_dir: Path,
    samples_dir: Path,
    params: dict,
    evaluation_dir: Path | None = None,
) -> None:
    """Write ``out_dir/README.md``, ``out_dir/index.html`` and ``out_dir/figures/``.

    One table of metrics per dataset (rows "<dataset> train", "<dataset> test", then
    "<variant> samples" and "<variant> accompaniment" for each variant on it; the
    pitch-class columns drawn as a bar chart instead), loss curves per variant, the
    sample piano rolls (copied into ``figures/``), links to at most ``MAX_LINKS`` MIDI
    and WAV files per variant relative to ``out_dir``, the papers' published numbers, and
    the profile and seed. ``out_dir`` is replaced as a whole; optional inputs that are
    missing are left out.

    Parameters
    ----------
    out_dir, metrics_dir, logs_dir, samples_dir
        See the module docstring for the layout read.
    params
        The parsed params.yaml (``base``, ``datasets``, ``variants``, ``evaluate``).

    Raises
    ------
    FileNotFoundError
        If a declared variant has no ``samples.json`` (named in the message).
    """
    out_dir, metrics_dir = Path(out_dir), Path(metrics_dir)
    variants = declared_variants(params)
    tables = collect_metrics(metrics_dir, params, evaluation_dir)  # fails before anything is written
    with atomic_dir(out_dir) as tmp:
        figures = tmp / "figures"
        figures.mkdir()
        blocks = _run_blocks(params, variants)
        blocks += _metric_blocks(tables, params, figures)
        blocks += _loss_blocks(variants, Path(logs_dir), figures)
        blocks += _sample_blocks(variants, Path(samples_dir), out_dir, figures)
        blocks += _published_blocks(tables)
        (tmp / "README.md").write_text(to_markdown(blocks), encoding="utf-8")
        (tmp / "index.html").write_text(to_html(blocks, TITLE), encoding="utf-8")
