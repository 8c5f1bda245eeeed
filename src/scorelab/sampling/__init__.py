"""Sampling: checkpoint -> arrays. Knows nothing of codecs; the caller decodes.

- :func:`sample_rolls`: piano-roll probabilities, unconditional or accompanying given
  melodies (S0).
- :func:`sample_tokens`: seeded continuation of token sequences with temperature (S4).

A checkpoint rebuilds its own model; nothing here reads params.yaml.
"""

from scorelab.sampling.rolls import sample_rolls
from scorelab.sampling.tokens import apply_temperature, sample_tokens

__all__ = ["apply_temperature", "sample_rolls", "sample_tokens"]
