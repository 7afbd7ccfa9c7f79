"""One exported decoder graph in onnxruntime: a forward step over the KV cache, and the cache
of the schema prefix per database. The engine holds one (and a draft model beside an ensemble,
`symgen.engine.drafting`); decoding strategies live in the engine, not here."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort

from symgen.engine.kv_cache import Past
from symgen.errors import SymgenError

LOGITS_FROM = "logits_from"  # ensemble graphs: how many last positions get logits (as -n)


def _session(path: Path, opts: ort.SessionOptions) -> ort.InferenceSession:
    """An onnxruntime session on `path`, or one line saying the graph file is broken (a
    truncated copy, an interrupted export) rather than onnxruntime's protobuf traceback."""
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # InvalidProtobuf, Fail, InvalidGraph: all mean a bad file here
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise SymgenError(
            f"{path}: not a loadable ONNX graph ({first}); the file is corrupt or truncated: "
            f"re-run `symgen export --model TRAIN_DIR --out {path.parent}`"
        ) from None


class Decoder:
    """A session with the engine's cache layout; not thread-safe (the engine locks)."""

    def __init__(
        self, path: Path, *, layers: int, kv_heads: int, head_dim: int, threads: int
    ) -> None:
        self.path = path
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = _session(path, opts)
        self.kv_heads, self.head_dim = kv_heads, head_dim
        names = {i.name for i in self.session.get_inputs()}
        self.has_position_ids = "position_ids" in names
        self.has_attention_mask = "attention_mask" in names
        self.all_positions = LOGITS_FROM in names
        self.past_names = [
            f"past_key_values.{i}.{kv}" for i in range(layers) for kv in ("key", "value")
        ]
        self.present_names = [f"present.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
        missing = [n for n in self.past_names if n not in names]
        if missing:
            raise SymgenError(
                f"{path} has no KV-cache inputs ({missing[0]}); re-export with `symgen export`"
            )
        self._prefix: OrderedDict[str, tuple[Past, np.ndarray]] = OrderedDict()

    def run_positions(self, ids: np.ndarray, past: Past, n: int) -> tuple[np.ndarray, Past]:
        """Logits of the last `n` positions [batch, n, vocab] (n > 1 needs an ensemble graph
        built with `logits_from`), and the cache after `ids`."""
        batch, new = ids.shape
        past_len = past[0].shape[2]
        feed: dict[str, np.ndarray] = {"input_ids": ids.astype(np.int64)}
        if self.has_attention_mask:  # optimum's graph; the lean one derives it from the cache
            feed["attention_mask"] = np.ones((batch, past_len + new), dtype=np.int64)
        if self.has_position_ids:
            feed["position_ids"] = np.broadcast_to(
                np.arange(past_len, past_len + new, dtype=np.int64), (batch, new)
            ).copy()
        if self.all_positions:
            feed[LOGITS_FROM] = np.array([-n], dtype=np.int64)
        elif n != 1:
            raise SymgenError(f"{self.path} returns the last position's logits only")
        feed.update(zip(self.past_names, past, strict=True))
        outs = self.session.run(["logits", *self.present_names], feed)
        return outs[0][:, -n:, :], list(outs[1:])

    def run(self, ids: np.ndarray, past: Past) -> tuple[np.ndarray, Past]:
        """The last position's logits [batch, vocab] and the cache after `ids`."""
        logits, present = self.run_positions(ids, past, 1)
        return logits[:, -1, :], present

    def empty_past(self, batch: int = 1) -> Past:
        shape = (batch, self.kv_heads, 0, self.head_dim)
        return [np.zeros(shape, dtype=np.float32) for _ in self.past_names]

    def prefix(self, key: str, ids: Callable[[], list[int]]) -> tuple[Past, np.ndarray]:
        """Cache and last logits after `ids()` (the schema part), LRU over a few databases."""
        if key in self._prefix:
            self._prefix.move_to_end(key)
            return self._prefix[key]
        logits, past = self.run(np.array([ids()], dtype=np.int64), self.empty_past())
        self._prefix[key] = (past, logits)
        while len(self._prefix) > 8:
            self._prefix.popitem(last=False)
        return past, logits
