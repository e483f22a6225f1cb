"""Random streams keyed by block of sessions, so results never depend on chunking.

Sessions are grouped in blocks of :data:`BLOCK_SESSIONS`; block ``b`` of component ``c``
draws from its own generator seeded by ``SeedSequence(seed, spawn_key=(c, b))``. A chunk
is any whole number of blocks; every draw for the sessions of a block comes from that
block's generator in the same order whatever the chunk size, so ``simulate`` returns
identical arrays for any ``chunk_sessions``.
"""

from __future__ import annotations

import math

import numpy as np

from .core.model import SparseDraws

__all__ = ["BLOCK_SESSIONS", "BlockStreams", "Scratch", "block_generator"]

#: Sessions per random stream; chunks are whole multiples of it.
BLOCK_SESSIONS = 65_536


def block_generator(seed: int, component: int, block: int) -> np.random.Generator:
    """The generator of one block (SFC64: the fastest bit generator numpy ships)."""
    sequence = np.random.SeedSequence(seed, spawn_key=(component, block))
    return np.random.Generator(np.random.SFC64(sequence))


class Scratch:
    """Buffers reused by every chunk of one simulation: the chunk's RTTs, and three
    rotating buffers for uniform draws (an array :meth:`BlockStreams.random` returns stays
    valid until the third next call; the simulator holds at most two at a time)."""

    def __init__(self, sessions: int) -> None:
        self.sessions = sessions
        self.rtt = np.empty(sessions)
        self._uniform = [np.empty(sessions) for _ in range(3)]
        self._next = 0

    def uniform(self, n: int) -> np.ndarray:
        buffer = self._uniform[self._next]
        self._next = (self._next + 1) % len(self._uniform)
        return buffer[:n]


class BlockStreams:
    """Draws for the sessions of one chunk, each session from its block's generator.

    ``index`` arguments are sorted positions within the chunk (the sessions still trying);
    ``None`` means every session of the chunk. Draws are written into ``scratch``'s
    buffers (one per simulation, reused chunk after chunk): no per-block arrays to
    concatenate, no fresh allocation per draw.
    """

    def __init__(
        self,
        seed: int,
        component: int,
        first_session: int,
        sessions: int,
        scratch: Scratch | None = None,
    ) -> None:
        first_block = first_session // BLOCK_SESSIONS
        blocks = -(-sessions // BLOCK_SESSIONS)
        self.generators = [block_generator(seed, component, first_block + b) for b in range(blocks)]
        self.bounds = np.minimum(np.arange(blocks + 1) * BLOCK_SESSIONS, sessions)
        self.sessions = sessions
        self.scratch = scratch if scratch is not None and scratch.sessions >= sessions else None
        self.draws = 0

    def _counts(self, index: np.ndarray | None) -> np.ndarray:
        if index is None:
            return np.diff(self.bounds)
        return np.diff(np.searchsorted(index, self.bounds))

    def random(self, index: np.ndarray | None = None) -> np.ndarray:
        """One uniform in [0, 1) per session of ``index`` (see :class:`Scratch` for how
        long the array stays valid when the streams have one)."""
        if len(self.generators) == 1:
            n = self.sessions if index is None else int(index.size)
            counts = None
        else:
            counts = self._counts(index)
            n = int(counts.sum())
        self.draws += n
        out = self.scratch.uniform(n) if self.scratch is not None else np.empty(n)
        if counts is None:
            self.generators[0].random(out=out)
            return out
        at = 0
        for g, count in zip(self.generators, counts.tolist(), strict=True):
            if count:
                g.random(out=out[at : at + count])
                at += count
        return out

    def below(self, p: float, index: np.ndarray | None = None) -> SparseDraws:
        """For the sessions of ``index``: which of them draw a uniform below ``p`` and
        those draws (:class:`~chatconn.core.model.SparseDraws`), drawn sparsely block by
        block — the gaps between hits are geometric(p), then one uniform per hit scaled
        into [0, p) — so a rare event costs per hit, not per session."""
        if len(self.generators) == 1:
            counts = [self.sessions if index is None else int(index.size)]
        else:
            counts = self._counts(index).tolist()
        positions, draws = [], []
        at = 0
        for g, count in zip(self.generators, counts, strict=True):
            if count:
                hits = _hits(g, count, p)
                self.draws += int(hits.size) * 2
                if hits.size:
                    positions.append(hits + at)
                    draws.append(g.random(hits.size) * p)
            at += count
        if not positions:
            return SparseDraws(_NO_HITS, _NO_DRAWS, p)
        if len(positions) == 1:
            return SparseDraws(positions[0], draws[0], p)
        return SparseDraws(np.concatenate(positions), np.concatenate(draws), p)

    def lognormal(self, mean: float, sigma: float) -> np.ndarray:
        """One lognormal per session of the chunk: standard normals drawn block by block
        into one array, then scaled and exponentiated in place."""
        n = self.sessions
        out = self.scratch.rtt[:n] if self.scratch is not None else np.empty(n)
        for g, lo, hi in zip(self.generators, self.bounds[:-1], self.bounds[1:], strict=True):
            g.standard_normal(out=out[lo:hi])
        out *= sigma
        out += mean
        np.exp(out, out=out)
        return out


_NO_HITS = np.zeros(0, dtype=np.intp)
_NO_DRAWS = np.zeros(0)


def _hits(g: np.random.Generator, count: int, p: float) -> np.ndarray:
    """Sorted positions in [0, count), each independently with probability ``p``: the
    cumulated gaps of a Bernoulli process (geometric(p)), drawn in batches sized to cover
    ``count`` almost always (the draws past ``count`` are spent all the same, so the
    stream's use depends only on ``count`` and ``p``)."""
    if p <= 0.0:
        return _NO_HITS
    if p >= 1.0:
        return np.arange(count)
    expected = count * p
    batch = int(expected + 6.0 * math.sqrt(expected) + 8)
    ends = np.cumsum(g.geometric(p, size=batch))
    while ends[-1] < count:
        ends = np.concatenate((ends, ends[-1] + np.cumsum(g.geometric(p, size=batch))))
    return ends[ends <= count] - 1
