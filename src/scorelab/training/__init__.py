"""Training loops, losses, logs and self-describing checkpoints.

- :func:`train_adversarial`: one loop for every (generator, critic) model and every
  loss in :data:`ADVERSARIAL_LOSSES` (S0's WGAN-GP; ``wgan-clip`` and ``bce`` too).
- :func:`train_likelihood`: next-token training on token streams (S4's LSTM).
- :func:`save_checkpoint` / :func:`load_checkpoint`: files that rebuild their model.

Both loops write ``resume.pt`` every ``checkpoint_every`` steps and continue from it
when rerun with the same fingerprint; the same params on the CPU give the same bytes.
"""

from scorelab.training.adversarial import train_adversarial
from scorelab.training.checkpoint import Checkpoint, load_checkpoint, run_fingerprint, save_checkpoint
from scorelab.training.device import pick_device
from scorelab.training.likelihood import train_likelihood
from scorelab.training.losses import ADVERSARIAL_LOSSES

__all__ = [
    "ADVERSARIAL_LOSSES",
    "Checkpoint",
    "load_checkpoint",
    "pick_device",
    "run_fingerprint",
    "save_checkpoint",
    "train_adversarial",
    "train_likelihood",
]
