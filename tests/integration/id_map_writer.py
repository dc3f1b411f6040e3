"""A separate process that maps ids, for the concurrent-writer tests.

``python -m tests.integration.id_map_writer URL CLUSTER SEED START COUNT`` waits until the
wall-clock time START, maps COUNT new ids (half str, half UUID) in an order shuffled by
SEED, 50 per call, and prints ``{id text: int}`` as JSON.
"""

from __future__ import annotations

import json
import random
import sys
import time
import uuid

from flask_bitmapist.domain import ExternalId, external_id_text
from flask_bitmapist.infra import RedisIdMapper, RedisRepository


def shared_ids(count: int) -> list[ExternalId]:
    """The ids every writer maps: ``user-0``..., then UUIDs 0...."""
    half = count // 2
    ids: list[ExternalId] = [f"user-{i}" for i in range(half)]
    return ids + [uuid.UUID(int=i) for i in range(count - half)]


def main(url: str, cluster: bool, seed: int, start: float, count: int) -> dict[str, int]:
    """Map the shared ids from ``start`` on; return the mapping seen by this process."""
    repository = RedisRepository.from_url(url, cluster=cluster, socket_timeout=5.0)
    mapper = RedisIdMapper.of(repository)
    order = shared_ids(count)
    random.Random(seed).shuffle(order)
    time.sleep(max(0.0, start - time.time()))
    mapping: dict[str, int] = {}
    for offset in range(0, len(order), 50):
        batch = order[offset : offset + 50]
        for user_id, number in zip(batch, mapper.assign(batch), strict=True):
            mapping[external_id_text(user_id)] = number
    repository.close()
    return mapping


if __name__ == "__main__":
    url, cluster, seed, start, count = sys.argv[1:6]
    print(json.dumps(main(url, cluster == "cluster", int(seed), float(start), int(count))))
