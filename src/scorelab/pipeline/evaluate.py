"""evaluate_*: real data and generated samples -> metrics, tables and comparisons.

Two trees, because DVC shows every number of a metrics file as a column:

- ``metrics/{data,variants}/<name>/<set>.json``: the headline numbers only (a handful per
  set), declared as DVC metrics, so ``dvc exp show`` and ``dvc metrics diff`` stay readable;
- ``evaluation/{data,variants}/<name>/``: everything else, read by the report:
  ``<set>.json`` (every metric with its 95 % bootstrap interval, unit and source; the
  histograms and matrices; the pair metrics), ``<set>.pieces.parquet`` (the per-piece
  table, for distributions), and for variants ``<set>.compare.json`` (MGEval against the
  training set, the Fréchet distance, the per-feature normalized deviations) and
  ``<set>.headline.json`` (the headline score, :mod:`scorelab.metrics.headline`, with
  its ceiling and floor; the data's test split and naive baseline get one too).

Every set's headline JSON carries ``score`` (0-1), ``relative`` (1 = the test split,
0 = the naive baseline) and ``verdict``, so ``dvc metrics diff`` compares them.

Real data is scored in the same form as the samples: the encoded windows or songs decoded
back to Scores, so both sides of every comparison went through the same grid. Copies a
codec added to the training split for augmentation (S3's transpositions and pitch noise)
are left out: the reference is the corpus's own music. Melody
codecs keep no meter, so Erk melodies, real and generated, are all judged in 4/4
(stated in each codec's ``meter``; the report says so).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from scorelab.metrics.compare import MGEVAL_PIECES
from scorelab.metrics.notes import NoteSet
from scorelab.score import read_notes
from scorelab.utils import atomic_dir, load_npz, save_npz, write_json

EVALUATED_SPLITS = ("train", "test")
NOISE_PIECES = 100  # pieces of the naive baseline scored beside the data (the headline score's floor)
REFERENCE_PIECES = MGEVAL_PIECES  # training pieces MGEval's distances use (S4 and MGEval: 100)

# MGEval's scalar features whose distance densities the report draws: evaluate writes
# their curves (``<set>.mgeval_curves.npz``) so the report draws and never recomputes.
MGEVAL_CURVES = ("unique_pitches", "pitch_range", "avg_IOI", "bar_used_note")
# Scalar features compared as distributions (MGEval's own list, where we have it).
MGEVAL_FEATURES = (
    "unique_pitches",
    "pitch_range",
    "avg_pitch_shift",
    "avg_IOI",
    "bar_used_pitch",
    "bar_used_note",
    "total_used_note",
    "UPC",
)
MGEVAL_BINNED = ("pitch_class_histogram",)  # MGEval's total_pitch_class_histogram
# S4's own definitions (A.3.2-A.3.3: 1/8-second length classes, transitions within a
# track), compared by MGEval's method but not MGEval's features (MGEval's note-length
# histogram has 12 classes relative to the bar): reported apart, under "s4".
S4_BINNED = ("note_length_histogram", "pitch_class_transitions", "note_length_transitions")


def codec_grid(codec) -> tuple[int, int | None]:
    """(ticks per grid step, bars per item or None) from a codec's description."""
    desc = codec.describe()
    return int(desc["step_ticks"]), desc.get("bars_per_sample")


def noteset(scores, codec) -> NoteSet:
    """Scores decoded by ``codec`` as a NoteSet on the codec's grid and bar count."""
    step, n_bars = codec_grid(codec)
    return NoteSet.from_scores(scores, n_bars=n_bars, step_ticks=step)


def write_set(
    metrics_dir: Path, eval_dir: Path, set_name: str, ev, extra_headline: dict | None = None
) -> None:
    """Write one set's headline JSON, full JSON and per-piece Parquet table."""
    write_json(metrics_dir / f"{set_name}.json", {**ev.headline(), **(extra_headline or {})})
    write_json(eval_dir / f"{set_name}.json", ev.to_json())
    ev.frame().to_parquet(eval_dir / f"{set_name}.pieces.parquet", index=False)


def run_evaluate_data(
    params: dict, name: str, data_dir: Path, out: Path, eval_out: Path, corpus_dir: Path | None = None
) -> dict:
    """Score the train and test sets of dataset ``name``, and its naive baseline.

    With ``corpus_dir`` (the stage always gives it), also what the codec loses of the
    corpus (:mod:`scorelab.codecs.fidelity`): ``fidelity.json``, headline shares in
    ``out``, every count in ``eval_out``.

    ``noise``: the codec's naive baseline fitted to the training split (random cells or
    symbols at the data's marginal rates, seeded by ``base.seed``), so every report shows
    what "better than noise" means for each metric. The test set is also compared with
    the training set (the pair metrics: what a model that copies the data would score).
    """
    from scorelab.codecs import load_codec
    from scorelab.metrics.sets import evaluate_notes

    data_dir = Path(data_dir)
    codec = load_codec(data_dir / "encoding.json")
    if codec.output == "audio":
        return evaluate_audio_data(codec, data_dir, Path(out), Path(eval_out))
    seed = int(params["base"]["seed"])
    results = {}
    with atomic_dir(out) as tmp, atomic_dir(eval_out) as etmp:
        train_arrays = codec.unaugmented(load_npz(data_dir / "train.npz"))  # the corpus's own music
        train = noteset(codec.decode_split(train_arrays), codec)
        sets = {
            "train": (train, True),
            "test": (noteset(codec.decode_split(load_npz(data_dir / "test.npz")), codec), False),
            "noise": (noteset(codec.noise(train_arrays, NOISE_PIECES, seed), codec), False),
        }
        for set_name, (ns, same) in sets.items():
            results[set_name] = evaluate_notes(ns, seed, reference=train, same=same)
        for set_name, ev in results.items():
            extra = {}
            if set_name != "train":  # the references scored as any generated set is
                head = headline_of(ev.table, *(results[k].table for k in ("train", "test", "noise")), seed)
                write_json(etmp / f"{set_name}.headline.json", rounded(head))
                extra = headline_numbers(head)
            write_set(tmp, etmp, set_name, ev, extra)
        if codec.frame_likelihood:
            write_likelihood(tmp, train_arrays, load_npz(data_dir / "test.npz"))
        if corpus_dir is not None:
            from scorelab.codecs.fidelity import HEADLINE_FIDELITY, fidelity

            corpus = read_notes(Path(corpus_dir))
            write_whole_songs(etmp, [s for s in corpus if s.split == "train"])
            lost = fidelity(codec, corpus)
            write_json(tmp / "fidelity.json", {k: lost[k] for k in HEADLINE_FIDELITY})
            write_json(etmp / "fidelity.json", lost)
    return results


LIKELIHOOD = "likelihood.json"  # in metrics/{data,variants}/<name>: the JSB ladder's numbers


def write_likelihood(metrics_dir: Path, train: dict, test: dict, saved: dict | None = None) -> dict:
    """The frame-level test NLL (nats per frame) of the naive references and, with ``saved``
    (a sample set's npz holding the model's log-probabilities of the test frames), of the model.

    All computed by :func:`scorelab.metrics.likelihood.frame_nll` (the benchmark's protocol).
    """
    from scorelab.metrics.likelihood import ladder_references, model_nll

    out = ladder_references(train, test)
    if saved is not None:
        out = {"test_nll": model_nll(saved, test), **out}
    out = rounded(out)
    write_json(Path(metrics_dir) / LIKELIHOOD, out)
    return out


WHOLE_SONGS = "whole_songs"  # in evaluation/data/<dataset>: up to 100 training songs, whole


def write_whole_songs(eval_dir: Path, songs) -> None:
    """Keep up to 100 whole training songs (evenly spread) and S4's Manhattan distance among them.

    S4 computed its Manhattan distance between whole files (its 141.35 for the data,
    234.88 for generated files against the corpus), and the value grows with a piece's
    length, so our windows' value cannot stand beside it. ``whole_songs/`` (notes) lets
    each variant's evaluate compare its pieces with the same songs;
    ``whole_songs.json`` holds the data's own value (each song against the others).
    """
    from scorelab.metrics.sets import MANHATTAN_MAX_PIECES, evenly_spread, round_sig, s4_manhattan
    from scorelab.score import write_notes

    if not songs:
        return
    from scorelab.metrics.musical import unique_pitches

    picked = [songs[i] for i in evenly_spread(len(songs), MANHATTAN_MAX_PIECES)]
    write_notes(Path(eval_dir) / WHOLE_SONGS, picked)
    ns = NoteSet.from_scores(picked)
    used = unique_pitches(ns)
    write_json(
        Path(eval_dir) / f"{WHOLE_SONGS}.json",
        {
            "s4_manhattan": round_sig(s4_manhattan(ns, ns, same=True)),
            "unique_pitches": round_sig(float(used.mean())),
            "unique_pitches_std": round_sig(float(used.std())),  # ddof 0, as S4's np.std
            "pieces": len(picked),
        },
    )


def whole_song_manhattan(ns: NoteSet, data_eval: Path) -> dict | None:
    """S4's Manhattan distance of a generated set against the data's whole songs, or None."""
    from scorelab.metrics.sets import round_sig, s4_manhattan

    folder = Path(data_eval) / WHOLE_SONGS
    if not (folder / "pieces.parquet").is_file():
        return None
    songs = NoteSet.from_scores(read_notes(folder))
    return {"s4_manhattan": round_sig(s4_manhattan(ns, songs)), "pieces": songs.n_pieces}


def headline_of(table, train, test, noise, seed: int) -> dict:
    """:func:`scorelab.metrics.headline.compare_with_references` (imported late: stages start fast)."""
    from scorelab.metrics.headline import compare_with_references

    return compare_with_references(table, train, test, noise, seed)


def headline_numbers(head: dict) -> dict:
    """The headline score's numbers for a set's metrics file (in git, so the committed run
    can be checked without DVC): score and its interval, relative, verdict, and how far
    one feature could move the score (``sensitivity``)."""
    return rounded(
        {
            "score": head["score"],
            "score_ci95": head["ci95"],
            "relative": head["relative"],
            "verdict": head["verdict"],
            "sensitivity": head["sensitivity"],
        }
    )


def rounded(obj):
    """``obj`` with every float rounded to the JSON files' significant digits (stable bytes)."""
    from scorelab.metrics.sets import round_sig

    if isinstance(obj, float):
        return round_sig(obj)
    if isinstance(obj, dict):
        return {k: rounded(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [rounded(v) for v in obj]
    return obj


def read_tables(data_eval: Path) -> dict:
    """The data's per-piece tables (train, test, noise) that the evaluate_data stage wrote."""
    import pandas as pd

    return {k: pd.read_parquet(Path(data_eval) / f"{k}.pieces.parquet") for k in ("train", "test", "noise")}


def quality_rows(progress: Path, codec, tables: dict, seed: int, prepare=None) -> list[dict]:
    """The quality log: the headline score of the main set sampled at each snapshot.

    One row per point (``step_<step>`` splits of ``samples/<v>/progress``, written by the
    sample stage with the final samples' seed, so every point is the same noise through
    other weights): the score with its interval, the relative score with its interval (the
    references are the same as the final set's), and each feature's closeness. Empty when
    the variant has no progress folder (an audio model, or samples from before snapshots).
    ``prepare`` (the judge stage) turns each point's Scores into the pieces to score.
    """
    from scorelab.metrics.headline import HEADLINE_FEATURES
    from scorelab.metrics.registry import compute_piece_metrics

    progress = Path(progress)
    if not (progress / "pieces.parquet").is_file():
        return []
    scores = read_notes(progress)
    rows = []
    for split in sorted({s.split for s in scores}):
        pieces = [s for s in scores if s.split == split]
        if prepare is not None:  # the judge: each point's pieces cut into the dataset's windows
            pieces = prepare(pieces)
            if not pieces:
                continue
        ns = noteset(pieces, codec)
        table = compute_piece_metrics(ns, names=HEADLINE_FEATURES)
        head = headline_of(table, tables["train"], tables["test"], tables["noise"], seed)
        rows.append(
            rounded(
                {
                    "step": int(split.removeprefix("step_")),
                    "score": head["score"],
                    "score_lo": head["ci95"][0],
                    "score_hi": head["ci95"][1],
                    "relative": head["relative"],
                    "relative_lo": head["relative_ci95"][0],
                    "relative_hi": head["relative_ci95"][1],
                    **{f: head["features"].get(f) for f in HEADLINE_FEATURES},
                }
            )
        )
    return rows


def still_improving(rows: list[dict]) -> str:
    """Was the score still rising over the last quarter of training?

    Compares the last point with the point at three quarters of the steps: "yes" when
    the last point's interval lies wholly above that point's score, "falling" when wholly
    below, "flat" otherwise; "too few points" with fewer than two. A rising curve at the
    end says the budget, not the method, limits the variant.
    """
    if len(rows) < 2 or rows[-1]["score"] is None:
        return "too few points"
    last = rows[-1]
    mark = 0.75 * last["step"]
    earlier = [r for r in rows[:-1] if r["step"] <= mark and r["score"] is not None]
    if not earlier:
        return "too few points"
    ref = earlier[-1]["score"]
    if last["score_lo"] is not None and last["score_lo"] > ref:
        return "yes"
    if last["score_hi"] is not None and last["score_hi"] < ref:
        return "falling"
    return "flat"


def write_tsv(path: Path, rows: list[dict]) -> None:
    """Rows as a tab-separated file with a header (empty cells for None)."""
    header = list(rows[0])
    lines = ["\t".join(header)]
    lines += ["\t".join("" if r[k] is None else str(r[k]) for k in header) for r in rows]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def given_tracks_of(samples_dir: Path, set_name: str) -> list[int]:
    """Tracks of a sample set copied from the condition (S0's melody), from its npz."""
    path = samples_dir / f"{set_name}.npz"
    if not path.exists():
        return []
    arrays = load_npz(path)
    return [int(t) for t in arrays["given_tracks"]] if "given_tracks" in arrays else []


def without_tracks(scores, tracks: list[int]):
    """The scores without ``tracks``: their notes dropped and the rest renumbered 0..k-1.

    The given tracks leave the declared tracks too, so EB does not count a removed melody
    as an empty track (it would add 25 % on S0's four voices).
    """
    out = []
    for s in scores:
        kept = [t for t in range(len(s.tracks)) if t not in tracks]
        notes = s.notes[s.notes["track"].isin(kept)].copy()
        notes["track"] = notes["track"].map({t: i for i, t in enumerate(kept)}).astype(notes["track"].dtype)
        out.append(s.with_notes(notes.reset_index(drop=True), tracks=[s.tracks[t] for t in kept]))
    return out


def run_evaluate_variant(
    params: dict, name: str, samples_dir: Path, data_dir: Path, data_eval: Path, out: Path, eval_out: Path
) -> dict:
    """Score every sample set of variant ``name`` and compare it with the training data.

    A set of conditioned samples (S0's ``accompaniment``) is scored on its generated
    tracks alone (the given melody is real data, not the model's work) and, under
    ``<set>_texture``, as the full texture with the melody in it.
    """
    from scorelab.codecs import load_codec
    from scorelab.metrics.sets import evaluate_notes
    from scorelab.workers import later

    samples_dir, data_dir, data_eval = Path(samples_dir), Path(data_dir), Path(data_eval)
    codec = load_codec(samples_dir / "encoding.json")
    if codec.output == "audio":
        return evaluate_audio_variant(samples_dir, Path(out), Path(eval_out))
    seed = int(params["base"]["seed"])
    train_arrays = codec.unaugmented(load_npz(data_dir / "train.npz"))
    train = noteset(codec.decode_split(train_arrays), codec)
    data = {s: _load(data_eval / f"{s}.json") for s in ("train", "test", "noise")}
    tables = read_tables(data_eval)
    # the quality curve (eight sample sets) in the stage's other process when it has one
    # (scorelab.workers), while this one scores the final sets
    quality_job = later(quality_rows, samples_dir / "progress", codec, tables, seed)
    scores = read_notes(samples_dir)
    results = {}
    with atomic_dir(out) as tmp, atomic_dir(eval_out) as etmp:
        if codec.frame_likelihood:
            saved = load_npz(samples_dir / "samples.npz")
            write_likelihood(tmp, train_arrays, load_npz(data_dir / "test.npz"), saved)
        for set_name in sorted({s.split for s in scores}):
            subset = [s for s in scores if s.split == set_name]
            given = given_tracks_of(samples_dir, set_name)
            versions = {set_name: without_tracks(subset, given) if given else subset}
            if given:
                versions[f"{set_name}_texture"] = subset
            for label, version in versions.items():
                ns = noteset(version, codec)
                ev = evaluate_notes(ns, seed, reference=train)
                write_comparison(etmp, label, compare_with(ev, ns, train, data))
                whole = whole_song_manhattan(ns, data_eval)
                if whole is not None:
                    write_json(etmp / f"{label}.{WHOLE_SONGS}.json", whole)
                head = headline_of(ev.table, tables["train"], tables["test"], tables["noise"], seed)
                extra = headline_numbers(head)
                quality = quality_job.get() if label == "samples" else None
                if quality:
                    extra["improving"] = still_improving(quality)
                write_set(tmp, etmp, label, ev, extra)
                write_json(etmp / f"{label}.headline.json", rounded(head))
                results[label] = ev
        quality = quality_job.get()
        if quality:
            write_tsv(tmp / "quality_log.tsv", quality)
    return results


def write_comparison(eval_dir: Path, label: str, comparison: dict) -> None:
    """``<label>.compare.json`` and, beside it, MGEval's density curves as
    ``<label>.mgeval_curves.npz`` (arrays: the report draws them without recomputing)."""
    comparison = dict(comparison)
    save_npz(Path(eval_dir) / f"{label}.mgeval_curves.npz", comparison.pop("curves"))
    write_json(Path(eval_dir) / f"{label}.compare.json", comparison)


def _load(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def _values(full: dict) -> dict[str, float | None]:
    return {k: v["value"] for k, v in full["metrics"].items()}


def compare_with(
    ev, ns: NoteSet, train: NoteSet, data: dict[str, dict], reference: str = "training set"
) -> dict:
    """The set against the training data: per-feature normalized deviations, MGEval, Fréchet distance.

    ``data``: the reference's full JSON under ``"train"`` and, optionally, the naive
    baseline's under ``"noise"`` and the test split's under ``"test"``. Normalized
    deviation, per headline metric: ``|generated - train| / scale`` with ``scale`` the
    larger of ``|naive - train|`` and the real-against-real spread (``|test - train|``
    and the half-width of the training set's 95 % interval). 0: like the data; 1: as
    far as the naive baseline. It is reported per feature and never averaged: without
    the floor, a metric on which noise happens to sit near the data (diversity: 0.0085
    apart on Erk) made an unbounded ratio that decided the old average alone. The
    ranking is the headline score (:mod:`scorelab.metrics.headline`).
    MGEval (Yang & Lerch 2020): per feature, the overlap area and KL divergence between
    the training set's intra-set distances and the inter-set distances, on up to 100
    pieces per set; under ``mgeval`` MGEval's own features, under ``s4`` S4's note-length
    and transition features measured the same way. Fréchet distance: between the two
    sets' vectors of the MGEval scalar features, each standardised by the training set's
    spread (raw units would let the largest-valued feature decide). ``curves``: MGEval's
    densities of :data:`MGEVAL_CURVES` (:func:`write_comparison` stores them apart).
    """
    from scorelab.metrics.compare import frechet_distance, mgeval_compare, normalized_deviations
    from scorelab.metrics.registry import PAIR_METRICS, headline_keys
    from scorelab.metrics.sets import compute_piece_metrics, evenly_spread, round_sig

    keys = [k for k in headline_keys() if k not in PAIR_METRICS]
    gen = {k: ev.value(k) for k in keys}
    per_key: dict[str, float] = {}
    if data.get("noise") is not None:  # no baseline (``scorelab evaluate`` without one): no deviation
        train_v, noise_v = _values(data["train"]), _values(data["noise"])
        test_v = _values(data["test"]) if data.get("test") is not None else {}
        floor = {}
        for k in keys:
            lo, hi = data["train"]["metrics"].get(k, {}).get("ci95", [None, None])
            spread = [(hi - lo) / 2] if None not in (lo, hi) else []
            if test_v.get(k) is not None and train_v.get(k) is not None:
                spread.append(abs(test_v[k] - train_v[k]))
            floor[k] = max(spread, default=0.0)
        per_key = normalized_deviations(gen, train_v, noise_v, keys, floor=floor)
    ref = train.subset(evenly_spread(train.n_pieces, REFERENCE_PIECES))
    gen_ns = ns.subset(evenly_spread(ns.n_pieces, REFERENCE_PIECES))
    tg, tr = compute_piece_metrics(gen_ns), compute_piece_metrics(ref)

    def binned(f: str) -> dict:
        cols = sorted(k for k in tg if k.startswith(f"{f}."))
        a = np.stack([tg[c] for c in cols], 1)
        b = np.stack([tr[c] for c in cols], 1)
        return {k: round_sig(v) for k, v in mgeval_compare(a, b).summary().items()}

    mgeval, curves = {}, {}
    for f in MGEVAL_FEATURES:
        r = mgeval_compare(tg[f], tr[f])
        mgeval[f] = {k: round_sig(v) for k, v in r.summary().items()}
        if f in MGEVAL_CURVES:
            curves.update({f"{f}.grid": r.grid, f"{f}.intra_a": r.pdf_intra_a, f"{f}.intra_b": r.pdf_intra_b})
            curves[f"{f}.inter"] = r.pdf_inter
    for f in MGEVAL_BINNED:
        mgeval[f] = binned(f)
    ga = np.stack([tg[f] for f in MGEVAL_FEATURES], 1)
    ra = np.stack([tr[f] for f in MGEVAL_FEATURES], 1)
    scale = np.nanstd(ra, axis=0)
    scale[~(scale > 0)] = 1.0
    return {
        "reference": f"{reference} ({ref.n_pieces} of {train.n_pieces} pieces, evenly spread)",
        "normalized_deviations": {k: round_sig(v) for k, v in per_key.items()},
        "mgeval": mgeval,
        "s4": {f: binned(f) for f in S4_BINNED},
        "frechet": round_sig(frechet_distance(ga / scale, ra / scale)),
        "frechet_features": list(MGEVAL_FEATURES),
        "curves": curves,
    }


def _finite(value):
    """A JSON-safe number: None for a missing, infinite or NaN value (DVC metrics are strict JSON)."""
    return value if isinstance(value, (int, float)) and np.isfinite(value) else None


def evaluate_audio_data(codec, data_dir: Path, out: Path, eval_out: Path) -> dict:
    """An audio dataset (S3's Hilbert curves): images, seconds and loudness of train and test."""
    from scorelab.metrics.audio import audio_stats

    seconds = codec.describe()["seconds_per_image"]
    results = {}
    with atomic_dir(out) as tmp, atomic_dir(eval_out) as etmp:
        for split in EVALUATED_SPLITS:
            arrays = load_npz(data_dir / f"{split}.npz")
            stats = {k: _finite(v) for k, v in audio_stats(arrays["x"], seconds).items()}
            if "transfer" in arrays:
                stats["transfer_rms_dbfs"] = _finite(audio_stats(arrays["transfer"], seconds)["rms_dbfs"])
            write_json(tmp / f"{split}.json", stats)
            write_json(etmp / f"{split}.json", {**stats, "pieces": int(len(arrays["piece_ids"]))})
            results[split] = stats
    return results


def evaluate_audio_variant(samples_dir: Path, out: Path, eval_out: Path) -> dict:
    """Each sample set of an audio model against its inputs: MSE and SNR (:mod:`scorelab.metrics.audio`)."""
    import pandas as pd

    from scorelab.metrics.audio import reconstruction

    results = {}
    with atomic_dir(out) as tmp, atomic_dir(eval_out) as etmp:
        for path in sorted(samples_dir.glob("*.npz")):
            arrays = load_npz(path)
            if "reference" not in arrays:
                continue
            rec = reconstruction(arrays["reference"], arrays["x"])
            headline = {"mse": _finite(rec["mse"]), "snr_db": _finite(rec["snr_db"])}
            write_json(tmp / f"{path.stem}.json", headline)
            write_json(etmp / f"{path.stem}.json", {**headline, "items": rec["items"]})
            table = pd.DataFrame({"item": range(rec["items"]), **rec["per_item"]})
            table.to_parquet(etmp / f"{path.stem}.pieces.parquet", index=False)
            results[path.stem] = headline
    return results


JUDGED_SET = "samples"  # the main set of the judged variant (its other sets are not judged)


def in_windows(codec, scores) -> tuple[list, dict]:
    """Generated Scores in a dataset's form: encoded and decoded by its codec, as the real sets were.

    Returns the decoded pieces (windows, or whole songs for a stream codec) and what was
    refused: ``pieces_in``, ``pieces_kept`` and the codec's filters (name -> count). A
    piece the codec refuses (too short for one window, polyphony in a melody codec) is
    not scored: the share kept is reported beside the score.
    """
    from scorelab.errors import EmptyCorpusError

    scores = list(scores)
    try:
        arrays, summary = codec.encode_split(scores)
    except EmptyCorpusError as exc:
        return [], {"pieces_in": len(scores), "pieces_kept": 0, "rejected": {}, "reason": str(exc)}
    info = {k: summary[k] for k in ("pieces_in", "pieces_kept", "rejected")}
    return codec.decode_split(arrays), info


def run_judge(
    params: dict,
    variant: str,
    dataset: str,
    samples_dir: Path,
    data_dir: Path,
    data_eval: Path,
    out: Path,
    eval_out: Path,
) -> dict:
    """Score variant ``variant``'s samples in dataset ``dataset``'s form, against its references.

    The reference Transformer of a corpus family (issue 24) is trained on its own tokens;
    to stand beside the systems of another dataset of the family, its samples (Scores) go
    through that dataset's codec (the same windows, grid and tracks as the dataset's test
    split and naive baseline), and are scored with the same headline against the same
    tables. The quality curve is judged the same way, point by point.

    Writes ``out/samples.json`` (the headline numbers, the variant judged, the pieces
    kept), ``out/quality_log.tsv``, and in ``eval_out`` the set's full files as a variant's.
    """
    from scorelab.codecs import load_codec
    from scorelab.metrics.sets import evaluate_notes

    samples_dir, data_dir, data_eval = Path(samples_dir), Path(data_dir), Path(data_eval)
    codec = load_codec(data_dir / "encoding.json")
    if codec.output != "score":
        raise ValueError(f"judge: dataset {dataset} is not scored on notes (codec {codec.name})")
    seed = int(params["base"]["seed"])
    train = noteset(codec.decode_split(codec.unaugmented(load_npz(data_dir / "train.npz"))), codec)
    tables = read_tables(data_eval)
    scores = [s for s in read_notes(samples_dir) if s.split == JUDGED_SET]
    pieces, kept = in_windows(codec, scores)
    quality = quality_rows(
        samples_dir / "progress", codec, tables, seed, prepare=lambda p: in_windows(codec, p)[0]
    )
    info = {"variant": variant, "dataset": dataset, "judged_set": JUDGED_SET, **kept, "windows": len(pieces)}
    with atomic_dir(out) as tmp, atomic_dir(eval_out) as etmp:
        if quality:
            write_tsv(tmp / "quality_log.tsv", quality)
        if not pieces:
            write_json(
                tmp / f"{JUDGED_SET}.json", {**info, "score": None, "relative": None, "verdict": "not scored"}
            )
            return {JUDGED_SET: None}
        ns = noteset(pieces, codec)
        ev = evaluate_notes(ns, seed, reference=train)
        head = headline_of(ev.table, tables["train"], tables["test"], tables["noise"], seed)
        extra = {**info, **headline_numbers(head)}
        if quality:
            extra["improving"] = still_improving(quality)
        write_set(tmp, etmp, JUDGED_SET, ev, extra)
        write_json(etmp / f"{JUDGED_SET}.headline.json", rounded(head))
    return {JUDGED_SET: ev}
