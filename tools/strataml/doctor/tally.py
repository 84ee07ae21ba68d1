from __future__ import annotations


class Tally:
    """What the checks tell the engine besides their findings. The engine makes one per run and
    reads it; a check can only add to it."""

    __slots__ = ("_hashed", "_live")

    def __init__(self) -> None:
        self._hashed = 0
        self._live = False

    def add_hashed(self, files: int) -> None:
        """`files` more files were verified against their listing (or known to be, unchanged)."""
        self._hashed += files

    def depends_on_live_state(self) -> None:
        """A finding rests on something besides the files, such as whether a runner's process
        lives: what the checks found is not kept as a verdict of the files (TFC-0008 R13)."""
        self._live = True

    @property
    def files_hashed(self) -> int:
        return self._hashed

    @property
    def timeless(self) -> bool:
        """Did every finding follow from the files alone?"""
        return not self._live
