"""Sampling helpers on networks (no checkpoints, no codecs): trainers' ``sample`` functions use them.

- :func:`sample_generator`: items from a generator, unconditional or conditioned (S0, S1, S4 GANs).
- :func:`sample_tokens`: seeded continuation of token sequences with temperature (S4's LSTM).

Import each from its module (scorelab.sampling.generators, .tokens): this package module
imports nothing, so a stage imports only what its trainer uses (scorelab.lazy).
"""
