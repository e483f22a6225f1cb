"""Random streams keyed by block of sessions, so results never depend on chunking.

Sessions are grouped in blocks of :data:`BLOCK_SESSIONS`; block ``b`` of component ``c``
draws from its own generator seeded by ``SeedSequence(seed, spawn_key=(c, b))``. A chunk
is any whole number of blocks; every draw for the sessions of a block comes from that
block's generator in the same order whatever the chunk size, so ``simulate`` returns
identical arrays for any ``chunk_sessions``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BLOCK_SESSIONS", "BlockStreams", "block_generator"]

#: Sessions per random stream; chunks are whole multiples of it.
BLOCK_SESSIONS = 16_384


def block_generator(seed: int, component: int, block: int) -> np.random.Generator:
    """The generator of one block (SFC64: the fastest bit generator numpy ships)."""
    sequence = np.random.SeedSequence(seed, spawn_key=(component, block))
    return np.random.Generator(np.random.SFC64(sequence))


class BlockStreams:
    """Draws for the sessions of one chunk, each session from its block's generator.

    ``index`` arguments are sorted positions within the chunk (the sessions still trying);
    ``None`` means every session of the chunk.
    """

    def __init__(self, seed: int, component: int, first_session: int, sessions: int) -> None:
        first_block = first_session // BLOCK_SESSIONS
        blocks = -(-sessions // BLOCK_SESSIONS)
        self.generators = [block_generator(seed, component, first_block + b) for b in range(blocks)]
        self.bounds = np.minimum(np.arange(blocks + 1) * BLOCK_SESSIONS, sessions)
        self.draws = 0

    def _counts(self, index: np.ndarray | None) -> np.ndarray:
        if index is None:
            return np.diff(self.bounds)
        return np.diff(np.searchsorted(index, self.bounds))

    def random(self, index: np.ndarray | None = None) -> np.ndarray:
        counts = self._counts(index)
        self.draws += int(counts.sum())
        if len(self.generators) == 1:
            return self.generators[0].random(int(counts[0]))
        return np.concatenate(
            [g.random(int(n)) for g, n in zip(self.generators, counts, strict=True)]
        )

    def lognormal(self, mean: float, sigma: float) -> np.ndarray:
        """One lognormal per session of the chunk."""
        counts = self._counts(None)
        parts = [
            g.lognormal(mean, sigma, int(n)) for g, n in zip(self.generators, counts, strict=True)
        ]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)
