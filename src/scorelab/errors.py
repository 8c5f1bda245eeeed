"""Domain exceptions, one module (docs/design.md, Rule 10). Each message names the thing at fault."""


class ScorelabError(Exception):
    """Base class of every error scorelab raises on purpose."""


class ScoreValidationError(ScorelabError, ValueError):
    """A Score's notes break an invariant (pitch 0-127, duration > 0, onset >= 0)."""


class CorpusReadError(ScorelabError):
    """A source file could not be read into a Score (recorded, then skipped)."""


class EmptyCorpusError(ScorelabError):
    """No piece is left after a filter; the message names the corpus and the filter."""


class ParamsError(ScorelabError, ValueError):
    """params.yaml has an unknown key or a value of the wrong type; names the key."""


class DownloadError(ScorelabError):
    """A download has the wrong size or checksum, or an archive member escapes its folder."""


class CheckpointError(ScorelabError):
    """A checkpoint is missing, unreadable, or does not describe itself."""


class EncodingFilterError(ScorelabError):
    """A piece does not pass a codec's filter; ``filter`` names which (counted, then skipped)."""

    def __init__(self, filter: str, message: str):
        super().__init__(f"{filter}: {message}")
        self.filter = filter


class TrainingError(ScorelabError):
    """A training run could not finish (a data-parallel worker failed; its message is above)."""
