"""The decoder's key/value cache as the engine, the ONNX decoder and speculative decoding share
it: one array per layer and key/value, shaped [batch, heads, seq, dim]. One definition, so the
three cannot drift apart on the layout."""

from __future__ import annotations

import numpy as np

Past = list[np.ndarray]


def truncate(past: Past, length: int) -> Past:
    """The cache of the first `length` positions."""
    return [p[:, :, :length, :] for p in past]
