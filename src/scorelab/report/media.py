"""What the report lets a reader hear and open, copied into the report folder.

The report's players and MIDI links used to point into ``samples/``, a DVC output a
fresh clone lacks, so from a clone none of them worked. The report stage now puts what
it shows into ``reports/media/<variant>/`` (committed with the report): each shown
piece's audio as a short mono Ogg Vorbis clip (:mod:`scorelab.io.media`) and its MIDI
file as it is. The whole folder stays within :data:`BUDGET_BYTES`: clips start at
:data:`MAX_CLIP_SECONDS`, and when the total would pass the budget every clip is cut
shorter, by the same factor, until it fits (the page says how long they are).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from scorelab.report.render import safe_name

MEDIA_DIR = "media"
# The whole media folder of one report. 5 MB held 11 variants' clips at 8 s; with all 26
# variants in the default run (issue 20) 216 MIDI copies and 212 clips took 6.0 MB at the
# 1 s floor (the S3 image GANs' noise-like MIDI files are large), so 12 MB: about the same
# room per variant as before.
BUDGET_BYTES = 12_000_000
MAX_CLIP_SECONDS = 8.0
MIN_CLIP_SECONDS = 1.0


@dataclass
class Media:
    """Requests for media collected while the page is built, written once at the end."""

    audio: dict[str, Path] = field(default_factory=dict)  # link -> source WAV
    files: dict[str, Path] = field(default_factory=dict)  # link -> source file (MIDI)

    def clip(self, wav: Path, owner: str) -> str:
        """The link (relative to the report folder) the clip of ``wav`` will have."""
        link = f"{MEDIA_DIR}/{safe_name(owner)}/{safe_name(Path(wav).stem)}.ogg"
        self.audio[link] = Path(wav)
        return link

    def copy(self, path: Path, owner: str) -> str:
        """The link a copy of ``path`` will have."""
        link = f"{MEDIA_DIR}/{safe_name(owner)}/{safe_name(Path(path).name)}"
        self.files[link] = Path(path)
        return link

    def write(self, root: Path, budget: int = BUDGET_BYTES) -> dict:
        """Write every requested file under ``root``; return what was written.

        Returns ``{"bytes", "clips", "files", "clip_seconds"}``. Raises ValueError when
        the copied files alone (MIDI) leave no room for clips of MIN_CLIP_SECONDS.
        """
        root = Path(root)
        copied = 0
        for link, source in sorted(self.files.items()):
            (root / link).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, root / link)
            copied += (root / link).stat().st_size
        seconds = MAX_CLIP_SECONDS
        while True:
            clips = self._write_clips(root, seconds)
            if copied + clips <= budget or not self.audio:
                break
            if seconds <= MIN_CLIP_SECONDS:
                raise ValueError(
                    f"report media: {len(self.audio)} clips of {seconds:g} s and {len(self.files)} files "
                    f"take {copied + clips} bytes, over the budget of {budget}"
                )
            # sizes grow about linearly with length: shrink to the budget, a little under
            seconds = max(MIN_CLIP_SECONDS, round(seconds * 0.95 * (budget - copied) / clips, 2))
        return {
            "bytes": copied + clips,
            "clips": len(self.audio),
            "files": len(self.files),
            "clip_seconds": seconds,
        }

    def _write_clips(self, root: Path, seconds: float) -> int:
        from scorelab.io.media import clip_to_ogg
        from scorelab.workers import each

        jobs = []
        for link, wav in sorted(self.audio.items()):
            (root / link).parent.mkdir(parents=True, exist_ok=True)
            jobs.append((wav, root / link, seconds))
        return sum(each(clip_to_ogg, jobs))  # in the report's worker processes (scorelab.workers)
