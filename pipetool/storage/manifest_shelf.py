"""Checked directory manifests kept between commands: a command that needs a big directory's
file list (a fetch or pull with nothing to move, of 10,000 files) unpickles it, ~3 ms, instead
of reading, parsing and checking the manifest again, ~25 ms.

They are kept in `.pipetool/manifests.cache`, tagged with this user's secret as pipetool's other
kept copies are (files/trusted_cache): a damaged, foreign or committed copy is ignored. A
manifest's entries follow from its hash, so a kept copy never goes stale; it is used only while
the cache still holds the manifest itself. The copy keeps the manifests of the last command that
had to read one.
"""

from __future__ import annotations

import os

from ..files.trusted_cache import Shelf
from .cache import Cache, CorruptObject

FILE = "manifests.cache"
PURPOSE = "checked-manifests-1"


class ManifestShelf:
    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self._shelf: Shelf | None = None
        self._used: set[str] = set()
        self._read = False  # a manifest was read from the cache: the copy is saved again

    def _kept(self) -> Shelf:
        if self._shelf is None:
            self._shelf = Shelf(os.path.join(os.path.dirname(self.cache.dir), FILE), PURPOSE)
        return self._shelf

    def entries(self, digest: str) -> list[tuple[str, str, int]] | None:
        """A directory's checked entries while the cache holds its manifest; None when it does
        not, or when the manifest is damaged (the cache removes it then)."""
        if not self.cache.has(digest):
            return None
        kept = self._kept().get(digest)
        if isinstance(kept, list):
            self._used.add(digest)
            return kept
        try:
            entries = self.cache.manifest(digest)
        except CorruptObject:
            return None
        self._kept().set(digest, entries)
        self._used.add(digest)
        self._read = True
        return entries

    def save(self) -> None:
        """Keep the manifests this command used, when it had to read one (else the copy stays)."""
        if self._read and self._shelf is not None:
            self._shelf.save(self._used)
            self._read = False
