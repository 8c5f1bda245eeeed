"""``scorelab evaluate``: any folder of MIDI files against any other, without DVC or params.

The same engine and the same comparison as the pipeline's evaluate stages
(:func:`scorelab.metrics.sets.evaluate_notes`, :func:`scorelab.pipeline.evaluate.compare_with`),
on MIDI read straight into a columnar :class:`~scorelab.metrics.notes.NoteSet`: a
researcher can score another system's output, or their own, beside a reference corpus
and read numbers that mean what ours mean.

Pieces are judged whole (their own bars, from each file's first time signature), unlike
the pipeline, which judges the encoded windows. A file that cannot be read is skipped and
listed with its reason; a folder with no readable MIDI is an error naming the folder.
"""

from __future__ import annotations

from pathlib import Path

from scorelab.errors import ScorelabError
from scorelab.utils import write_json


def midi_files(folder: Path, refused: list[tuple[str, str]] | None = None) -> list[Path]:
    """Every MIDI file under ``folder`` (recursively), sorted, so a run is reproducible.

    Regular files only; ``refused`` receives ``(path, reason)`` for a symlink, FIFO or
    device named like a MIDI file (:func:`~scorelab.corpora.walk.files_under`).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ScorelabError(f"{folder}: not a folder")
    from scorelab.corpora.walk import MIDI_SUFFIXES, files_under, printable

    odd: list[tuple[str, str]] = []
    paths = [folder / rel for rel in files_under(folder, MIDI_SUFFIXES, odd)]
    if refused is not None:
        refused.extend((printable(str(folder / rel)), why) for rel, why in odd)
    return paths


def read_folder(folder: Path):
    """(NoteSet, rejected) of a folder's MIDI files; an error if none can be read.

    Every file that is not read is in ``rejected`` with its reason: not a regular file,
    a name that is not valid UTF-8, unreadable, or past a limit (:mod:`scorelab.io.limits`).
    """
    from scorelab.metrics.notes import read_midi_set

    refused: list[tuple[str, str]] = []
    paths = midi_files(folder, refused)
    if not paths and not refused:
        raise ScorelabError(f"{folder}: no MIDI files (*.mid, *.midi) found")
    ns, rejected = read_midi_set(paths)
    rejected = sorted(refused + rejected)
    if ns.n_pieces == 0:
        reasons = "; ".join(f"{Path(p).name}: {r}" for p, r in rejected[:3])
        raise ScorelabError(f"{folder}: none of its {len(paths)} MIDI files could be read ({reasons})")
    return ns, rejected


def evaluate_folders(
    generated: Path, reference: Path, baseline: Path | None = None, seed: int = 0, test: Path | None = None
) -> dict:
    """Evaluate ``generated`` against ``reference`` (with ``baseline`` and ``test`` as references).

    Returns the JSON-ready result: per folder its evaluation (every metric with its 95 %
    bootstrap interval) and rejected files, the headline score of every set but the
    reference (:mod:`scorelab.metrics.headline`: closeness to the reference; its
    ``relative`` place and ``verdict`` need both ``test``, held-out real music, and
    ``baseline``), and the comparison of generated against reference (MGEval overlap
    areas and KL per feature, Fréchet distance, the per-metric normalized deviations
    when a baseline is given).
    """
    from scorelab.metrics.headline import compare_with_references, score_set, scored_pieces
    from scorelab.metrics.sets import evaluate_notes
    from scorelab.pipeline.evaluate import compare_with, rounded

    folders = {"generated": generated, "reference": reference}
    if baseline is not None:
        folders["baseline"] = baseline
    if test is not None:
        folders["test"] = test
    sets = {k: read_folder(Path(v)) for k, v in folders.items()}
    ref_ns = sets["reference"][0]
    evals = {
        k: evaluate_notes(ns, seed, reference=ref_ns, same=(k == "reference")) for k, (ns, _) in sets.items()
    }
    data = {"train": evals["reference"].to_json()}
    if "baseline" in evals:
        data["noise"] = evals["baseline"].to_json()
    if "test" in evals:
        data["test"] = evals["test"].to_json()
    tables = {k: ev.table for k, ev in evals.items()}
    headline = {}
    if "baseline" in evals and "test" in evals:
        for k in ("generated", "test", "baseline"):
            headline[k] = compare_with_references(
                tables[k], tables["reference"], tables["test"], tables["baseline"], seed
            )
    else:
        n = scored_pieces(*(evals[k].n_pieces for k in evals if k != "reference"))
        for k in (k for k in evals if k != "reference"):
            headline[k] = score_set(tables[k], tables["reference"], n, seed)
    comparison = compare_with(
        evals["generated"], sets["generated"][0], ref_ns, data, reference="reference set"
    )
    out: dict = {"seed": seed}
    for k, folder in folders.items():
        out[k] = {
            "folder": str(folder),
            "rejected": [{"path": p, "reason": r} for p, r in sets[k][1]],
            **(data["train"] if k == "reference" else evals[k].to_json()),
        }
    out["headline"] = rounded(headline)
    comparison.pop("curves", None)  # MGEval's density curves are for the report's figures
    out["comparison"] = comparison
    return out


def _cell(metric: dict | None) -> str:
    if metric is None or metric.get("value") is None:
        return "-"
    v = metric["value"]
    lo, hi = metric.get("ci95", [None, None])
    if lo is None or hi is None:
        return f"{v:.4g}"
    return f"{v:.4g} [{lo:.4g}, {hi:.4g}]"


def format_table(result: dict) -> str:
    """The terminal summary: headline metrics with intervals, deviation, MGEval overlaps."""
    from scorelab.metrics.registry import headline_keys

    sets = [k for k in ("generated", "reference", "test", "baseline") if k in result]
    lines = []
    for k in sets:
        r = result[k]
        lines.append(
            f"{k:<10} {r['folder']}: {r['n_pieces']} pieces, {r['n_notes']} notes, "
            f"{len(r['rejected'])} rejected"
        )
        for rej in r["rejected"]:
            lines.append(f"  skipped {rej['path']}: {rej['reason']}")
    comp = result["comparison"]
    devs = comp.get("normalized_deviations", {})
    header = ["metric", *sets] + (["norm_dev"] if devs else [])
    rows = []
    for key in headline_keys():
        cells = []
        for k in sets:
            r = result[k]
            m = r["metrics"].get(key)
            if m is None and key in r["pairs"]:
                m = r["pairs"][key]
            cells.append(_cell(m))
        if devs:
            d = devs.get(key)
            cells.append("-" if d is None else f"{d:.3g}")
        rows.append([key, *cells])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines += ["", fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*row) for row in rows]
    lines.append("")
    lines += headline_lines(result["headline"])
    lines.append(f"Frechet distance (standardised MGEval features): {_num(comp['frechet'])}")
    lines.append(f"MGEval against the {comp['reference']}: overlap area (1 = same distribution), KL")
    for feat, m in comp["mgeval"].items():
        lines.append(f"  {feat:<26} overlap {_num(m['overlap'])}  KL {_num(m['kl'])}")
    lines.append("S4's features (its A.3 definitions) by MGEval's method:")
    for feat, m in comp.get("s4", {}).items():
        lines.append(f"  {feat:<26} overlap {_num(m['overlap'])}  KL {_num(m['kl'])}")
    return "\n".join(lines)


def headline_lines(headline: dict) -> list[str]:
    """The headline score of each set, saying on how many features and pieces it stands."""
    from scorelab.metrics.headline import HEADLINE_FEATURES

    lines = ["headline score: closeness to the reference (1 - Kolmogorov-Smirnov), IQM over features"]
    for k, h in headline.items():
        lo, hi = h["ci95"]
        text = f"  {k:<10} {_num(h['score'])} [{_num(lo)}, {_num(hi)}]"
        text += f"  IQM of {len(h['features'])} of {len(HEADLINE_FEATURES)} features, {h['pieces']} pieces"
        if h.get("left_out"):
            text += f" (undefined on the reference: {', '.join(h['left_out'])})"
        if "relative" in h:
            text += f"; relative {_num(h['relative'])} (1 = test, 0 = baseline): {h['verdict']}"
        lines.append(text)
    if not any("relative" in h for h in headline.values()):
        lines.append(
            "  (give --test, held-out real MIDI, and --baseline for its place between them and a verdict)"
        )
    return lines


def _num(x) -> str:
    return "-" if x is None else f"{x:.3g}"


def run_evaluate_folders(
    generated: Path,
    reference: Path,
    out: Path,
    baseline: Path | None = None,
    seed: int = 0,
    test: Path | None = None,
) -> dict:
    """Evaluate and write the full JSON to ``out`` (atomically); returns the result."""
    result = evaluate_folders(generated, reference, baseline, seed, test=test)
    write_json(Path(out), result)
    return result
