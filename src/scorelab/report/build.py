"""Build the report: metric tables, loss curves, piano rolls, sample links, published numbers.

Inputs (all paths as the report stage receives them)::

    metrics_dir/data/<dataset>/{train,test}.json      real data (optional)
    metrics_dir/variants/<variant>/samples.json       required for every declared variant
    metrics_dir/variants/<variant>/accompaniment.json optional
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

from scorelab.metrics.sets import PCH_KEYS, SET_KEYS
from scorelab.report.pictures import plot_losses, plot_pitch_class_histograms
from scorelab.report.published import COMPARABILITY_NOTE, PUBLISHED
from scorelab.report.render import Block, Heading, Image, Links, Paragraph, Table, to_html, to_markdown
from scorelab.utils import atomic_dir

TITLE = "scorelab report"
MAIN_KEYS = tuple(k for k in SET_KEYS if k not in PCH_KEYS)  # pitch classes go to a figure
DATA_SPLITS = ("train", "test", "noise")  # noise: the codec's naive baseline (evaluate_data)
VARIANT_SETS = ("samples", "accompaniment")  # accompaniment.json is optional
MAX_LINKS = 8  # sample files listed per variant and kind
MISSING = "–"
GLOSSARY = (
    "Columns: empty_bar_rate (S0) and EB (S1, %) are the share of (track, bar) cells with no "
    "sounding note; unique_pitches and in_scale_ratio (C major) are S0's; UPC (S1) counts pitch "
    "classes per non-empty bar; QN (S1, %) is the share of notes lasting at least "
    "evaluate.qn_min_steps grid steps; the noise baseline is random cells or symbols at the "
    "training data's rates; pitch_mean and pitch_std (S4) are over MIDI pitch. "
    "Each of these is the mean over the pieces of a set. diversity is a property of the set: "
    "the mean pairwise Jaccard distance of the pieces' note sets (0: every piece the same, "
    "mode collapse; 1: no note shared); unique_pitches_std is the spread of unique_pitches "
    "across the set's pieces (S4's mode-collapse signal, its 'pitch std'). A value is closer to "
    "right the closer it is to the training data's."
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


def collect_metrics(metrics_dir: Path, params: dict) -> dict[str, list[tuple[str, dict]]]:
    """Rows of each dataset's table: (label, metrics), data splits first, then variants.

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
                rows.append((label, _read_json(path)))
        for v in (v for v in variants if v.dataset == dataset):
            for kind in VARIANT_SETS:
                path = metrics_dir / "variants" / v.name / f"{kind}.json"
                if path.is_file():
                    rows.append((f"{v.name} {kind}", _read_json(path)))
                elif kind == "samples":
                    raise FileNotFoundError(
                        f"{path}: metrics of variant {v.name!r} (trainer {v.trainer}) not found"
                    )
        if rows:
            tables[dataset] = rows
    return tables


def metric_table(rows: list[tuple[str, dict]]) -> Table:
    """The main table: one row per set, ``MAIN_KEYS`` then any extra non-pitch-class keys."""
    extra = sorted({k for _, m in rows for k in m} - set(SET_KEYS))
    keys = (*MAIN_KEYS, *extra)
    return Table(("set", *keys), tuple((label, *(format_value(m.get(k)) for k in keys)) for label, m in rows))


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


def _metric_blocks(tables: dict[str, list[tuple[str, dict]]], params: dict, figures: Path) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Metrics"), Paragraph(GLOSSARY)]
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
        pch = {label: [m.get(k) for k in PCH_KEYS] for label, m in rows}
        pch = {label: v for label, v in pch.items() if any(x is not None for x in v)}
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


def _published_blocks() -> list[Block]:
    blocks: list[Block] = [Heading(2, "Published numbers"), Paragraph(COMPARABILITY_NOTE)]
    for t in PUBLISHED:
        blocks += [
            Heading(3, f"{t.paper}: {t.title}"),
            Paragraph(f"Corpus: {t.corpus}."),
            Table(("system", *t.columns), tuple((label, *(f"{x:g}" for x in v)) for label, v in t.rows)),
        ]
        if t.note:
            blocks.append(Paragraph(t.note))
    return blocks


def _run_blocks(params: dict, variants: list[Variant]) -> list[Block]:
    base = params.get("base", {})
    qn = (params.get("evaluate") or {}).get("qn_min_steps", MISSING)
    blocks: list[Block] = [
        Heading(1, TITLE),
        Paragraph(
            f"Profile: {base.get('profile', MISSING)}. Seed: {base.get('seed', MISSING)}. "
            f"QN threshold: {qn} grid steps."
        ),
    ]
    if variants:
        rows = tuple((v.name, v.trainer, v.model, v.dataset) for v in variants)
        blocks += [Heading(2, "Variants"), Table(("variant", "trainer", "model", "dataset"), rows)]
    return blocks


def build_report(out_dir: Path, metrics_dir: Path, logs_dir: Path, samples_dir: Path, params: dict) -> None:
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
    tables = collect_metrics(metrics_dir, params)  # fails before anything is written
    with atomic_dir(out_dir) as tmp:
        figures = tmp / "figures"
        figures.mkdir()
        blocks = _run_blocks(params, variants)
        blocks += _metric_blocks(tables, params, figures)
        blocks += _loss_blocks(variants, Path(logs_dir), figures)
        blocks += _sample_blocks(variants, Path(samples_dir), out_dir, figures)
        blocks += _published_blocks()
        (tmp / "README.md").write_text(to_markdown(blocks), encoding="utf-8")
        (tmp / "index.html").write_text(to_html(blocks, TITLE), encoding="utf-8")
