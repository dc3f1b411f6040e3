"""The keyspace port: the keys of a store under its prefix, node by node.

The retention command and the storage report (``services``) walk keys through this
interface; :mod:`flask_bitmapist.infra.keyspace` implements it on Redis (every cluster
primary) and on the in-process store.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import Any, Final, Protocol

import attrs

__all__ = ["DEFAULT_BATCH", "KeyFacts", "Keyspace", "Node"]

#: Keys asked about per SCAN step and per pipeline: bounds what one round trip carries
#: and how long the server spends on it.
DEFAULT_BATCH: Final = 500


@attrs.frozen
class KeyFacts:
    """What a node says about one key: its expiry (ms since the epoch, None when it has
    none) and its size in bytes (None when not asked, or the key is gone)."""

    key: str
    expire_at_ms: int | None
    bytes: int | None


@attrs.frozen
class Node:
    """One server holding part of the keys (the only one on a single Redis)."""

    name: str
    client: Any = attrs.field(repr=False, eq=False)


class Keyspace(Protocol):
    """The keys of a store under its prefix, node by node (what services walk)."""

    #: The keys' prefix (``{prefix}{event}_{suffix}``).
    prefix: str
    #: How bytes are measured, for reports: ``"MEMORY USAGE"`` on Redis.
    measure: str

    def nodes(self) -> list[Node]:
        """The servers holding the keys."""

    def size(self, node: Node) -> int:
        """How many keys ``node`` holds (every key, not only the prefix's)."""

    def batches(self, node: Node, count: int = DEFAULT_BATCH) -> Iterator[list[str]]:
        """The prefix's keys on ``node``, about ``count`` at a time."""

    def facts(
        self, node: Node, keys: Sequence[str], *, sized: Collection[str] | None = None
    ) -> list[KeyFacts]:
        """Each key's expiry and bytes (every key's, or those in ``sized``)."""

    def expire(
        self, node: Node, expiries: Sequence[tuple[str, int]], delete: Sequence[str]
    ) -> None:
        """Give keys their expiry (ms since the epoch) and delete ``delete``."""
