"""scorelab: a reproducible DVC pipeline for symbolic music generation.

Everything passes through a :class:`scorelab.score.Score` (see docs/design.md): readers
make Scores, codecs turn them into tensors and back, metrics and writers take Scores.
"""

__version__ = "0.1.0"
