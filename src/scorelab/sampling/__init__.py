"""Sampling helpers on networks (no checkpoints, no codecs): trainers' ``sample`` functions use them.

- :func:`sample_generator`: items from a generator, unconditional or conditioned (S0, S1, S4 GANs).
- :func:`sample_tokens`: seeded continuation of token sequences with temperature (S4's LSTM).
"""

from scorelab.sampling.generators import evenly_spaced, generate, sample_generator
from scorelab.sampling.tokens import apply_temperature, sample_tokens

__all__ = ["apply_temperature", "evenly_spaced", "generate", "sample_generator", "sample_tokens"]
