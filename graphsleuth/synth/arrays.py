"""Small vectorised helpers the generator's tables share: ids, hex text, ISO times, IPv4 text, draws."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "DAY",
    "HOUR",
    "scramble",
    "hex_text",
    "prefixed",
    "iso_times",
    "ipv4_text",
    "pick",
    "zipf_weights",
    "split_sizes",
    "split_sizes_exact",
    "segment_ids",
]

DAY = 86_400
HOUR = 3_600

_HEX_LUT = np.array([f"{i:02x}" for i in range(256)]).astype("S2")
_MIX_A = np.uint64(0x9E3779B97F4A7C15)
_MIX_B = np.uint64(0xBF58476D1CE4E5B9)


def scramble(values: np.ndarray, salt: int) -> np.ndarray:
    """A bijective mix of 64-bit integers, so distinct inputs give distinct, random-looking ids."""
    x = values.astype(np.uint64) + np.uint64(salt & 0xFFFFFFFFFFFF)
    x = x * _MIX_A
    x ^= x >> np.uint64(31)
    x = x * _MIX_B
    x ^= x >> np.uint64(29)
    return x


def hex_text(values: np.ndarray, digits: int = 16) -> pa.Array:
    """Lower-case hex strings of uint64 values, the last ``digits`` digits."""
    as_bytes = values.astype(np.uint64).byteswap().view(np.uint8).reshape(-1, 8)
    text = _HEX_LUT[as_bytes].view("S16").ravel()
    arr = pa.array(text, type=pa.binary()).cast(pa.string())
    return pc.utf8_slice_codeunits(arr, 16 - digits, 16) if digits < 16 else arr


def prefixed(prefix: str, arr: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(prefix, arr, "")


def iso_times(seconds: np.ndarray) -> pa.Array:
    """ISO-8601 UTC strings (``2026-02-03T04:05:06Z``) of epoch seconds."""
    text = pa.array(seconds.astype("int64"), type=pa.timestamp("s")).cast(pa.string())
    return pc.binary_join_element_wise(pc.utf8_replace_slice(text, 10, 11, "T"), "Z", "")


def ipv4_text(a, b, c, d) -> pa.Array:
    parts = [pa.array(np.asarray(x).astype("int64")).cast(pa.string()) for x in (a, b, c, d)]
    return pc.binary_join_element_wise(*parts, ".")


def pick(rng: np.random.Generator, options: np.ndarray, n: int, weights=None) -> np.ndarray:
    p = None if weights is None else np.asarray(weights, dtype=float) / np.sum(weights)
    return options[rng.choice(len(options), size=n, p=p)]


def zipf_weights(n: int, exponent: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1, dtype=float) ** exponent
    return w / w.sum()


def split_sizes(rng: np.random.Generator, total: int, low: int, high: int) -> np.ndarray:
    """Group sizes, log-uniform in [low, high], adding up to at most ``total``.

    What is left over (fewer than ``low`` accounts) is returned to the caller
    as the difference, to become individuals.
    """
    if total < low:
        return np.zeros(0, dtype=np.int64)
    draws = np.exp(rng.uniform(np.log(low), np.log(high + 1), size=total // low + 1)).astype(np.int64)
    draws = np.clip(draws, low, high)
    cum = np.cumsum(draws)
    k = int(np.searchsorted(cum, total, side="right"))
    sizes = draws[:k]
    rest = total - int(sizes.sum())
    if rest >= low:
        sizes = np.append(sizes, rest)
    return sizes


def segment_ids(sizes: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(sizes)), sizes)


def split_sizes_exact(rng: np.random.Generator, total: int, sizes: list[int], p: list[float]) -> np.ndarray:
    """Small group sizes drawn from ``sizes``; the last group is trimmed so they add up to ``total``."""
    if total < min(sizes):
        return np.zeros(0, dtype=np.int64)
    draws = rng.choice(sizes, size=total // min(sizes) + 1, p=p)
    cum = np.cumsum(draws)
    k = int(np.searchsorted(cum, total, side="left"))
    out = draws[: k + 1].copy()
    out[-1] -= int(out.sum()) - total
    if out[-1] < 2:
        out = out[:-1]
    return out.astype(np.int64)
