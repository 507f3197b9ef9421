"""Random streams: root seed -> replication -> one named stream per source, stage and pool.

Each stream's ``SeedSequence`` is keyed by the replication index and a stable hash of its
name, not by creation order. Adding, removing or changing one stage therefore leaves every other
stage's draws untouched, which is what common random numbers between scenarios need.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator

import numpy as np

from revsim.distributions import Distribution

BATCH = 256
"""Draws per refill. Fixed, so that a stream's sequence never depends on how it is consumed."""


def _name_key(name: str) -> tuple[int, ...]:
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=16).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


def replication_seed(root_seed: int, replication: int) -> np.random.SeedSequence:
    """The SeedSequence of one replication: a child of the root keyed by its index."""
    return np.random.SeedSequence(root_seed, spawn_key=(replication,))


class Streams:
    """Factory of independent, named random generators for one replication."""

    def __init__(self, root_seed: int, replication: int) -> None:
        self.root_seed = int(root_seed)
        self.replication = int(replication)

    def generator(self, name: str) -> np.random.Generator:
        """A fresh Generator for the stream ``name`` (same name, same draws)."""
        seq = np.random.SeedSequence(
            self.root_seed, spawn_key=(self.replication, *_name_key(name))
        )
        return np.random.Generator(np.random.PCG64(seq))

    def draws(self, name: str, dist: Distribution, scale: float = 1.0) -> Callable[[], float]:
        """A zero-argument function returning successive draws of ``dist`` times ``scale``
        (batched for speed). Scaling keeps the stream: a scaled variant sees the same draws."""
        return _batched(dist, self.generator(name), scale).__next__

    def key(self, name: str) -> int:
        """A 64-bit key for the stream ``name`` (for :func:`keyed_uniform`)."""
        return int(self.generator(name).integers(0, 2**63))

    def uniforms(self, name: str) -> Callable[[], float]:
        """Successive U(0, 1) draws from the stream ``name``."""
        rng = self.generator(name)

        def gen() -> Iterator[float]:
            while True:
                yield from rng.random(BATCH).tolist()

        return gen().__next__


M64 = (1 << 64) - 1


def mix64(x: int) -> int:
    """SplitMix64's finaliser: a fast, well-distributed 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def keyed_uniform(stream_key: int, entity_key: int, counter: int) -> float:
    """A U(0,1) number fixed by (stream, entity, counter), independent of event order.

    Used for per-lead decisions: the lead's k-th step draws the same number in every scenario
    run with the same seed, whatever else changed around it (common random numbers that
    survive reordering, which stream-order draws do not).
    """
    x = mix64(stream_key ^ mix64(entity_key ^ mix64(counter)))
    return (x >> 11) * (1.0 / 9007199254740992.0)


def _batched(dist: Distribution, rng: np.random.Generator, scale: float = 1.0
             ) -> Iterator[float]:
    while True:
        batch = dist.sample(rng, BATCH)
        yield from (batch * scale if scale != 1.0 else batch).tolist()
