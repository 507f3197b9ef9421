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

    def draws(self, name: str, dist: Distribution) -> Callable[[], float]:
        """A zero-argument function returning successive draws of ``dist`` (batched for speed)."""
        return _batched(dist, self.generator(name)).__next__

    def uniforms(self, name: str) -> Callable[[], float]:
        """Successive U(0, 1) draws from the stream ``name``."""
        rng = self.generator(name)

        def gen() -> Iterator[float]:
            while True:
                yield from rng.random(BATCH).tolist()

        return gen().__next__


def _batched(dist: Distribution, rng: np.random.Generator) -> Iterator[float]:
    while True:
        yield from dist.sample(rng, BATCH).tolist()
