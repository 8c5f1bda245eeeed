# Two commands do everything on a fresh machine (see README.md):
#   make repro   -> create .venv, install everything, run `dvc repro` on the default params
#   make test    -> create .venv, install everything, run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export DVC_NO_ANALYTICS := 1
# dvc runs each stage's `python ...` from PATH: the venv's interpreter must come first.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup repro try test lint docs bench clean-venv

setup: $(VENV)/.installed

# torch==2.13.0 is pinned in pyproject.toml: on this project's machines pip takes the
# CPU build from local disk; on a GPU machine the same pin brings CUDA.
# Nothing is installed beside the project: audio is scorelab's own SoundFont player
# (scorelab/io/soundfont.py; tests/test_soundfont.py checks this recipe).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

repro: setup
	$(BIN)/dvc repro
	$(BIN)/scorelab prune-lock

# The quick try (README.md): one variant of each paper's system at smoke-test size (the
# tiny profile) in a scratch clone of the committed HEAD (try/, ignored by git and DVC),
# so the workspace and its outputs are untouched, then a report on those five variants:
# try/report/index.html (`scorelab report --only`: the report stage's page on those five).
# Five targets, not the whole zoo: 124 stages cost DVC and the
# stages' start-ups minutes before any work (docs/dvc.md); `dvc exp run -S
# base.profile=tiny` without targets is the whole zoo's smoke run.
TRY := s0_wgan_gp_jsb s1_cnn_lstm_gan_jsb s2_vae_classical s3_lstm_mse s4_lstm_erk
empty :=
comma := ,
try: setup
	rm -rf try && git clone --quiet . try
	cd try && dvc exp run -S base.profile=tiny $(addprefix evaluate@,$(TRY))
	cd try && scorelab report --out report --only $(subst $(empty) $(empty),$(comma),$(TRY))
	@echo "the try's report: try/report/index.html"

# Two workers, one test file each at a time (--dist loadfile keeps a file's module-scoped
# end-to-end clone in one worker): the end-to-end files run side by side. Measured on this
# 2-core Xeon (2026-11-22): 658 tests in 13 min 27 s and 14 min 02 s on two workers; on a 2-core
# AMD EPYC (2026-12-03): 673 tests in 32 min 14 s; on a 2-core AVX-512 EPYC (2026-12-04): 1,119
# tests in 25 min 17 s (the main end-to-end file is the critical path; docs/testing.md).
# --durations: every run prints its 25 slowest tests, so the suite's time can be worked on.
test: setup
	$(BIN)/ruff check src stages tests benchmarks
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=25

# The documentation as a site (site/, not in git): --strict fails on any broken link.
docs: setup
	$(BIN)/mkdocs build --strict

lint: setup
	$(BIN)/ruff check src stages tests benchmarks

clean-venv:
	rm -rf $(VENV)
