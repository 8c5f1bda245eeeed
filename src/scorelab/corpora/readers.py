"""The seed corpora's readers (issue 7), registered by name; one module per format family.

Two registries, both read by :mod:`scorelab.corpora.sources`:

- :data:`SOURCE_LISTERS`: a corpus entry's ``source`` name -> a function
  ``(paths, **options) -> list[Job]`` (``sources.list_jobs`` passes the options on);
- :data:`JOB_READERS`: a job's ``kind`` -> ``(job, corpus) -> Score``, what
  ``sources.read_job`` calls in a worker process for the kinds added here.

=============  ==========================================  =====================================
source         paths                                       options
=============  ==========================================  =====================================
jsb_pickle     ``jsb_chorales.pickle`` (Boulanger-Lew.)    --
jsb_16th       ``Jsb16thSeparated.json`` (czhuang)         --
lpd            .npz files, folders, zip, uncompressed tar  ``tracks`` (names), ``max_pieces``
maestro        ``maestro-v3.0.0-midi.zip``                 ``split_mode`` ("official"|"70/20/10"), ``seed``
abc_zip        ``esac.zip``, ``nottingham_database.zip``   --
classical      music21 composer names (empty: the default list)  --
local          folders of .mid/.midi/.mxl/.musicxml/.xml/.abc/.krn  --
=============  ==========================================  =====================================

JSB and MAESTRO jobs carry their file's own split in ``Job.split`` (the Score gets it too).
"""

from __future__ import annotations

from collections.abc import Callable

from scorelab.corpora.archives import (
    abc_zip_jobs,
    abc_zip_source,
    maestro_jobs,
    maestro_source,
    read_zip_midi_job,
)
from scorelab.corpora.jobs import Job
from scorelab.corpora.jsb import (
    jsb_16th_jobs,
    jsb_16th_scores,
    jsb_pickle_jobs,
    jsb_pickle_scores,
    load_jsb_pickle,
    read_chord_frames_job,
    read_voice_steps_job,
)
from scorelab.corpora.local import classical_jobs, local_jobs, read_local_midi_job
from scorelab.corpora.lpd import iter_npz_members, lpd_jobs, lpd_npz_score, read_lpd_job
from scorelab.score import Score

SOURCE_LISTERS: dict[str, Callable[..., list[Job]]] = {
    "jsb_pickle": jsb_pickle_jobs,
    "jsb_16th": jsb_16th_jobs,
    "lpd": lpd_jobs,
    "maestro": maestro_source,
    "abc_zip": abc_zip_source,
    "classical": classical_jobs,
    "local": local_jobs,
}

# Sources whose lister has a default when ``paths`` is empty (classical: every composer
# of CLASSICAL_COMPOSERS); every other source needs paths or a download (params checks).
PATHLESS_SOURCES = frozenset({"classical"})

JOB_READERS: dict[str, Callable[[Job, str], Score]] = {
    "jsb_chords": read_chord_frames_job,
    "jsb_satb": read_voice_steps_job,
    "lpd_npz": read_lpd_job,
    "zip_midi": read_zip_midi_job,
    "local_midi": read_local_midi_job,
}

__all__ = [
    "JOB_READERS",
    "PATHLESS_SOURCES",
    "SOURCE_LISTERS",
    "abc_zip_jobs",
    "classical_jobs",
    "iter_npz_members",
    "jsb_16th_jobs",
    "jsb_16th_scores",
    "jsb_pickle_jobs",
    "jsb_pickle_scores",
    "load_jsb_pickle",
    "local_jobs",
    "lpd_jobs",
    "lpd_npz_score",
    "maestro_jobs",
]
