"""One paper-size training step of every variant on the CPU (issue 21), marked ``paper_size``.

Its own file so that pytest-xdist's ``--dist loadfile`` can run it beside the CUDA
emulation (tests/test_gpu_path.py) rather than after it: about 3.5 minutes of the suite.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from scorelab.conf import compose
from scorelab.pipeline.train import run_train
from scorelab.validation import validate
from tiny_datasets import encode_datasets

REPO = Path(__file__).resolve().parents[1]
PARAMS = compose(REPO / "conf", catalogues=["papers"])


@pytest.fixture(scope="module")
def paper_datasets(tmp_path_factory) -> dict[str, Path]:
    """Enough hand-written pieces that the papers' batch sizes fit in the train split."""
    return encode_datasets(PARAMS, tmp_path_factory.mktemp("paper_datasets"), train_pieces=72)


@pytest.mark.paper_size
@pytest.mark.parametrize("name", list(PARAMS["variants"]))
def test_one_paper_size_step_of_every_variant_on_the_cpu(name, paper_datasets, tmp_path):
    """The paper profile builds, steps and checkpoints every variant at the papers' sizes
    (base.device: cpu written out, as the refusal above asks)."""
    from scorelab.training.checkpoint import load_checkpoint

    params = copy.deepcopy(PARAMS)
    params["base"].update(profile="paper", device="cpu")
    validate(params)
    data = paper_datasets[params["variants"][name]["dataset"]]
    ckpt = run_train(params, name, data, tmp_path / "model", tmp_path / "logs", max_steps=1, progress=False)
    got = load_checkpoint(ckpt)
    assert got.step == 1 and got.arch == resolve_arch_for(params, name)


def resolve_arch_for(params: dict, name: str) -> dict:
    from scorelab.config import to_dict
    from scorelab.models import parse_arch
    from scorelab.params import resolve_arch

    return to_dict(parse_arch(params["variants"][name]["model"], resolve_arch(params, name)))
