"""`DIR/report.md` and its charts: what a build made, from its record, so a user knows what they got.

Charts need matplotlib (installed with the `train` extra); without it the report is the same
text with a line saying the charts were left out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from symgen.build.stages import BuildInputs
from symgen.build.state import BuildState


def engine_mb(model_dir: Path) -> float | None:
    """Size of the file the engine loads (int8 when the export kept it)."""
    from symgen.engine.manifest import MANIFEST, graph_file, load_manifest

    if not (model_dir / MANIFEST).is_file():
        return None
    path = model_dir / graph_file(load_manifest(model_dir))
    return round(path.stat().st_size / 1e6, 1) if path.is_file() else None


def _pct(v: Any) -> str:
    return f"{v:.1%}" if isinstance(v, (int, float)) else "–"


def write_report(b: BuildInputs, state: BuildState) -> Path:
    st = state.stages
    gen = [s for s in b.recipe.stages if s.run == "generate"]
    train = next((st.get(s.name, {}) for s in b.recipe.stages if s.run == "train"), {})
    scores = next((st.get(s.name, {}) for s in b.recipe.stages if s.run == "evaluate"), {})
    held, ev = scores.get("held_out", {}), scores.get("eval", {})
    collected = st.get("collected", {})
    minutes = sum(float(v.get("minutes", 0.0)) for v in st.values())
    lat = ev or held
    lines = [
        f"# SymGen build: {b.name}",
        "",
        f"Database `{b.db_name}`, generator `{state.identity.get('generator')}`, recipe "
        f"`{b.recipe.path.name}`, budget {b.budget:g} min, {minutes:.1f} min spent.",
        "",
        "| what | value |",
        "|---|---|",
        f"| model | `{b.model_dir}` |",
    ]
    installed = next(
        (
            st[s.name].get("installed")
            for s in b.recipe.stages
            if s.run == "export" and s.name in st
        ),
        None,
    )
    if installed:
        lines.append(f"| installed for the editor | `{installed}` |")
    lines += [
        f"| parameters | {train.get('params', 0) / 1e6:.1f}M |",
        f"| size (the file the engine loads) | {engine_mb(b.model_dir)} MB |",
        f"| verified pairs (seeds included) | {collected.get('pairs', '–')} |",
        f"| trained on | {train.get('examples', '–')} pairs after value swaps, {train.get('steps', '–')} steps |",
        f"| accuracy on held-back verified pairs | {_pct(held.get('exec_acc'))} exec, "
        f"{_pct(held.get('exact_match'))} exact (n = {held.get('n', 0)}) |",
    ]
    if ev:
        lines.append(
            f"| accuracy on your --eval pairs | {_pct(ev.get('exec_acc'))} exec, "
            f"{_pct(ev.get('exact_match'))} exact (n = {ev.get('n', 0)}) |"
        )
    lines += [
        f"| latency p50 / p95 (one thread) | {lat.get('latency_p50_ms', '–')} / {lat.get('latency_p95_ms', '–')} ms |",
        "",
        "Held-back pairs are verified pairs of this build the model never trained on (every pair "
        "with the same SQL was left out too). They were checked by the generator's vote, not by a "
        "person, so they estimate the accuracy on questions like the generated ones; your own "
        "`--eval` pairs are the better measure.",
        "",
        "## Data by source",
        "",
        "| stage | verified pairs | questions rejected | samples per kept pair | why rejected (top) |",
        "|---|---|---|---|---|",
    ]
    for s in gen:
        r = st.get(s.name, {})
        if r.get("skipped"):
            lines.append(f"| {s.name} | skipped (no time left) | | | |")
            continue
        why = ", ".join(f"{k} {v}" for k, v in list(r.get("reasons", {}).items())[:4])
        lines.append(
            f"| {s.name} | {r.get('kept', 0)} | {r.get('rejected', 0)} | "
            f"{r.get('samples_per_pair') or '–'} | {why} |"
        )
    votes = {s.name: st.get(s.name, {}).get("votes", {}) for s in gen}
    lines += [
        "",
        "Votes of the kept answers (agreeing/drawn): "
        + "; ".join(
            f"{k}: " + ", ".join(f"{vk} x{vn}" for vk, vn in v.items())
            for k, v in votes.items()
            if v
        ),
        "",
        "## Time by stage",
        "",
        "| stage | minutes | planned |",
        "|---|---|---|",
    ]
    for s in b.recipe.stages:
        r = st.get(s.name, {})
        lines.append(
            f"| {s.name} | {float(r.get('minutes', 0.0)):.1f} | {r.get('allotted', '–')} |"
        )
    charts = _charts(b, state)
    lines += ["", *charts]
    lines += [
        "",
        "## Use it",
        "",
        "```bash",
        f'symgen complete --model {installed or b.model_dir} --db {b.db} "your question"',
        f"symgen-server --model {installed or b.model_dir} --db {b.db}   # what the editors start",
        "```",
        "",
    ]
    path = b.out / "report.md"
    path.write_text("\n".join(lines))
    return path


def _charts(b: BuildInputs, state: BuildState) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return ["(charts left out: matplotlib is not installed)"]
    st = state.stages
    gen = [
        s.name
        for s in b.recipe.stages
        if s.run == "generate" and not st.get(s.name, {}).get("skipped")
    ]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    kept = [st.get(n, {}).get("kept", 0) for n in gen]
    rej = [st.get(n, {}).get("rejected", 0) for n in gen]
    ax1.bar(gen, kept, label="verified")
    ax1.bar(gen, rej, bottom=kept, label="rejected", color="#bbbbbb")
    ax1.set_title("questions by source")
    ax1.legend()
    curve = next(
        (st.get(s.name, {}).get("loss_curve") for s in b.recipe.stages if s.run == "train"), None
    )
    if curve:
        ax2.plot(range(1, len(curve) + 1), curve)
        ax2.set_xlabel("log point")
        ax2.set_ylabel("training loss (smoothed)")
        ax2.set_yscale("log")
    ax2.set_title("training curve")
    fig.tight_layout()
    fig.savefig(b.out / "report.png", dpi=90)
    plt.close(fig)
    return ["![data by source and training curve](report.png)"]
