"""Stage evaluate_* and judge: metrics of real data (`data`), of a variant's samples
(`variant`), or of a variant's samples in another dataset's form (`judge`)."""

from pathlib import Path

import typer

import _here  # noqa: F401  (this checkout's src/ first, see _here.py)
from scorelab.params import load_params
from scorelab.pipeline.evaluate import run_evaluate_data, run_evaluate_variant, run_judge
from scorelab.process import run_stage
from scorelab.workers import workers


def main(
    kind: str,
    name: str,
    out: Path = typer.Option(..., help="headline metrics (DVC metrics)"),
    evaluation: Path = typer.Option(..., help="full results: every metric, tables, comparisons"),
    data: Path = typer.Option(..., help="the encoded dataset"),
    samples: Path = typer.Option(None, help="a variant's samples (kind=variant)"),
    data_evaluation: Path = typer.Option(None, help="the dataset's full results (kind=variant)"),
    corpus: Path = typer.Option(None, help="the dataset's corpus (kind=data): what the codec loses"),
    dataset: str = typer.Option(
        None, help="the dataset whose form and references judge the samples (kind=judge)"
    ),
    params: Path = typer.Option(Path("params.yaml")),
) -> None:
    """Evaluate dataset NAME (KIND=data), variant NAME (KIND=variant), or variant NAME in
    another dataset's windows (KIND=judge, with --dataset)."""
    p = load_params(params)
    if kind == "data":
        res = run_evaluate_data(p, name, data, out, evaluation, corpus)
    elif kind == "variant":
        if samples is None or data_evaluation is None:
            raise typer.BadParameter("kind=variant needs --samples and --data-evaluation")
        with workers():  # the quality curve beside the final sets (scorelab.workers)
            res = run_evaluate_variant(p, name, samples, data, data_evaluation, out, evaluation)
    elif kind == "judge":
        if samples is None or data_evaluation is None or dataset is None:
            raise typer.BadParameter("kind=judge needs --samples, --data-evaluation and --dataset")
        res = run_judge(p, name, dataset, samples, data, data_evaluation, out, evaluation)
    else:
        raise typer.BadParameter(f"kind must be 'data', 'variant' or 'judge', got {kind!r}")
    typer.echo(f"evaluate {name}: scored {', '.join(sorted(res))}")


if __name__ == "__main__":
    run_stage(main)
