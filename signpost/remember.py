"""What a worker read from the database, believed for a few seconds and renewed before it runs out."""

import logging
import threading
from collections.abc import Callable, Collection, Hashable, Mapping
from time import monotonic
from typing import Generic, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Remembered(Generic[K, V]):
    """Values read by `read(session, keys)`, each believed for `seconds` after the read began.

    Past half that age a value is still given out, but the first caller to see it starts one background read of it.
    Under steady traffic values are renewed before they run out, so no request waits for the database, and a burst
    of requests does not all read the same thing at once. (Before, every request that arrived while a value was being
    read again read it too: a stall of 50-120 ms every 5 s at 366 requests a second.) A value is never believed
    once `seconds` have passed; then the caller reads it itself (`read`). A key the renewal no longer finds is
    forgotten.
    """

    def __init__(self, name: str, read: Callable[[Session, list[K]], Mapping[K, V]]) -> None:
        self.name = name
        self._read = read
        self._held: dict[K, tuple[float, V]] = {}
        self._renewing: set[K] = set()
        self._lock = threading.Lock()
        self._forgotten_at = float("-inf")

    def forget(self) -> None:
        """Believe nothing read until now, including what a renewal under way is reading."""
        with self._lock:
            self._forgotten_at = monotonic()
            self._held.clear()

    def held(self, keys: Collection[K], seconds: float, session: Session) -> dict[K, V]:
        """The values of `keys` read less than `seconds` ago; those past half that age are renewed in the background
        when `session` is bound to an Engine (a background thread cannot share a test's connection)."""
        if seconds <= 0:
            return {}
        now = monotonic()
        found, stale = {}, []
        for key in keys:
            held = self._held.get(key)
            if held is None or now - held[0] >= seconds:
                continue
            found[key] = held[1]
            if now - held[0] >= seconds / 2 and key not in self._renewing:
                stale.append(key)
        if stale and isinstance(engine := session.get_bind(), Engine):
            with self._lock:
                stale = [key for key in stale if key not in self._renewing]
                self._renewing.update(stale)
            if stale:
                renewal = threading.Thread(target=self._renew, args=(engine, stale), daemon=True)
                renewal.start()
        return found

    def keep(self, values: Mapping[K, V], asked: Collection[K], read_at: float) -> None:
        """Remember what a read that began at `read_at` (monotonic()) found; forget what it asked for and did not."""
        with self._lock:
            self._renewing.difference_update(asked)
            if read_at < self._forgotten_at:
                return
            for key in asked:
                if key in values:
                    self._held[key] = (read_at, values[key])
                else:
                    self._held.pop(key, None)

    def read(self, session: Session, keys: list[K], *, keep: bool = True) -> Mapping[K, V]:
        """Read the values of `keys` now, through `session`, and (unless `keep` is False) remember them."""
        read_at = monotonic()
        values = self._read(session, keys)
        if keep:
            self.keep(values, keys, read_at)
        return values

    def _renew(self, engine: Engine, keys: list[K]) -> None:
        try:
            with Session(engine) as session:
                self.read(session, keys)
        except Exception as error:  # noqa: BLE001
            # The values run out as they would have, and the next caller reads them; until then no caller tries
            # again (while the database is away, every request would). The class only: a statement's text and
            # parameters stay out of the log.
            log.warning("Could not renew the remembered %s (%s).", self.name, type(error).__name__)
