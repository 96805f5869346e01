"""The cost report: rows per layer and direction, totals, memory, and its three renderings
(terminal table, Markdown, JSON-ready dict)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from lstmkit.cost.other_tools import TOOLS
from lstmkit.cost.tally import Ops
from lstmkit.cost.targets import KIB, Fit, Target, fit_target, get_target


@dataclass(frozen=True)
class LayerCost:
    """One layer, one direction (``direction`` is None for non-recurrent layers).

    Attributes
    ----------
    input_size, output_size : features in and out of this direction.
    params : parameters as stored; ``params_torch`` in PyTorch's convention (two biases).
    per_step : operations of one time step (recurrent) or one application (Dense).
    runs : how many times it runs over the analyzed batch (valid steps, or once per
        sequence for a Dense head on the last step); ``total = per_step × runs``.
    weights_bytes, state_bytes : this direction's flash and persistent RAM.
    scratch_bytes : RAM the layer needs inside one step (shared by its directions).
    other_tools : per-step figure of each tool in :data:`lstmkit.cost.other_tools.TOOLS`.
    """

    layer: str
    kind: str
    direction: str | None
    input_size: int
    output_size: int
    params: int
    params_torch: int
    per_step: Ops
    runs: int
    total: Ops
    weights_bytes: int
    state_bytes: int
    scratch_bytes: int
    other_tools: dict[str, int | None]
    note: str = ""

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.layer, self.direction)

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "type": self.kind,
            "direction": self.direction,
            "input_size": self.input_size,
            "output_size": self.output_size,
            "params": self.params,
            "params_torch": self.params_torch,
            "per_step": self.per_step.to_dict(),
            "runs": self.runs,
            "runs_note": self.note,
            "total": self.total.to_dict(),
            "weights_bytes": self.weights_bytes,
            "state_bytes": self.state_bytes,
            "scratch_bytes": self.scratch_bytes,
            "other_tools_per_step": dict(self.other_tools),
        }


@dataclass(frozen=True)
class CostReport:
    """What :func:`lstmkit.analyze` returns; see docs/cost.md for every figure.

    ``per_step`` is one time step of the whole model for one sequence (every layer and
    direction once, as when streaming); ``total`` is the whole analyzed batch.
    """

    model: str
    input_size: int
    seq_len: int
    batch: int
    lengths: list[int] | None
    valid_steps: int
    weights: str
    state: str
    rows: list[LayerCost]
    per_step: Ops
    total: Ops
    params: int
    params_torch: int
    weights_bytes: int
    state_bytes: int
    scratch_bytes: int
    feature_map_stream_bytes: int
    feature_map_sequence_bytes: int
    streaming: bool
    fit: Fit | None = field(default=None)

    # -- fit ------------------------------------------------------------------------------
    def fit_on(self, target: str | Target) -> Fit:
        """How this model fits ``target`` (a profile name or a :class:`Target`)."""
        return fit_target(
            get_target(target),
            per_step=self.per_step,
            total=self.total,
            compute="int8" if self.weights == "int8" else "float32",
            streaming=self.streaming,
            weights_bytes=self.weights_bytes,
            state_bytes=self.state_bytes,
            scratch_bytes=self.scratch_bytes,
            feature_map_sequence_bytes=self.feature_map_sequence_bytes,
        )

    def with_fit(self, target: str | Target) -> CostReport:
        """A copy that carries the fit on ``target`` (shown by every rendering)."""
        return replace(self, fit=self.fit_on(target))

    # -- renderings -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: settings, ``layers``, ``per_step``, ``total`` and ``fit``."""
        return {
            "model": self.model,
            "input_size": self.input_size,
            "seq_len": self.seq_len,
            "batch": self.batch,
            "lengths": self.lengths,
            "valid_steps": self.valid_steps,
            "weights": self.weights,
            "state": self.state,
            "layers": [r.to_dict() for r in self.rows],
            "per_step": self.per_step.to_dict(),
            "total": {
                **self.total.to_dict(),
                "params": self.params,
                "params_torch": self.params_torch,
                "weights_bytes": self.weights_bytes,
                "state_bytes": self.state_bytes,
                "scratch_bytes": self.scratch_bytes,
                "feature_map_stream_bytes": self.feature_map_stream_bytes,
                "feature_map_sequence_bytes": self.feature_map_sequence_bytes,
            },
            "fit": None if self.fit is None else self.fit.to_dict(),
            "conventions": "docs/cost.md",
        }

    def table(self) -> str:
        """The report as fixed-width text for a terminal."""
        return "\n".join(self._lines(markdown=False))

    def markdown(self) -> str:
        """The report as Markdown tables."""
        return "\n".join(self._lines(markdown=True))

    def __str__(self) -> str:
        return self.table()

    def _lines(self, markdown: bool) -> list[str]:
        title = (
            f'Cost of "{self.model}": {self.batch} sequence(s) of {self.seq_len} steps × '
            f"{self.input_size} features ({self.valid_steps:,} valid steps); weights "
            f"{self.weights}, states {self.state}"
        )
        out = [f"### {title}" if markdown else title, ""]
        out += _render(*self._ops_table(), markdown)
        p = self.per_step
        out += [
            "",
            f"One time step of the whole model (streaming, one sequence): {p.macc:,} MACC, "
            f"{p.elementwise:,} elementwise, {_acts(p)}.",
            f"Parameters: {self.params:,} as stored; {self.params_torch:,} in PyTorch's "
            "convention (two biases per LSTM/RNN layer).",
            "",
        ]
        out += _render(*self._memory_table(), markdown)
        out += [
            "",
            f"Weights (flash): {_bytes(self.weights_bytes)}; state: {_bytes(self.state_bytes)}; "
            f"scratch (peak over layers): {_bytes(self.scratch_bytes)}.",
            f"Feature map (largest two consecutive activations): streaming "
            f"{_bytes(self.feature_map_stream_bytes)}, whole sequence "
            f"{_bytes(self.feature_map_sequence_bytes)}.",
            "",
        ]
        tools = self._tools_table()
        if tools[2]:
            out += _render(*tools, markdown)
            out += [
                "",
                "Other tools, per time step and direction, in their own conventions; lstmkit's "
                "comparable figure is MACC + elementwise. — = the tool cannot represent this "
                "layer. See docs/cost.md.",
            ]
        if self.fit is not None:
            out += ["", *_fit_lines(self.fit, markdown)]
        return out

    def _ops_table(self):
        extra = [n for n in ("relu", "exp") if getattr(self.total, n)]
        kinds = ["sigmoid", "tanh", *extra]
        heads = ["Layer", "Dir", "In→Out", "Params", "PyTorch", "MACC/step", "Elem/step"]
        heads += [f"{k}/step" for k in kinds] + ["Runs", "MACC", "Elementwise"] + kinds
        rows = []
        for r in self.rows:
            s, t = r.per_step, r.total
            rows.append(
                [r.layer, _dir(r.direction), f"{r.input_size}→{r.output_size}"]
                + [f"{v:,}" for v in (r.params, r.params_torch, s.macc, s.elementwise)]
                + [f"{getattr(s, k):,}" for k in kinds]
                + [f"{v:,}" for v in (r.runs, t.macc, t.elementwise)]
                + [f"{getattr(t, k):,}" for k in kinds]
            )
        t = self.total
        rows.append(
            ["Total", "", ""]
            + [f"{v:,}" for v in (self.params, self.params_torch)]
            + [""] * (2 + len(kinds))
            + [""]
            + [f"{v:,}" for v in (t.macc, t.elementwise)]
            + [f"{getattr(t, k):,}" for k in kinds]
        )
        return heads, "lll" + "r" * (len(heads) - 3), rows

    def _memory_table(self):
        heads = ["Layer", "Dir", "Weights (flash)", "State", "Scratch"]
        rows = [
            [
                r.layer,
                _dir(r.direction),
                f"{r.weights_bytes:,} B",
                f"{r.state_bytes:,} B",
                f"{r.scratch_bytes:,} B",
            ]
            for r in self.rows
        ]
        rows.append(
            [
                "Total",
                "",
                f"{self.weights_bytes:,} B",
                f"{self.state_bytes:,} B",
                f"{self.scratch_bytes:,} B (peak)",
            ]
        )
        return heads, "llrrr", rows

    def _tools_table(self):
        heads = ["Layer", "Dir", "lstmkit", *TOOLS.values()]
        rows = []
        for r in self.rows:
            if all(v is None for v in r.other_tools.values()):
                continue
            mine = r.per_step.macc + r.per_step.elementwise
            theirs = ["—" if v is None else f"{v:,}" for v in r.other_tools.values()]
            rows.append([r.layer, _dir(r.direction), f"{mine:,}", *theirs])
        return heads, "ll" + "r" * (len(heads) - 2), rows


def _dir(direction: str | None) -> str:
    return {"forward": "fwd", "reverse": "rev"}.get(direction or "", "")


def _acts(ops: Ops) -> str:
    parts = [f"{getattr(ops, k):,} {k}" for k in ("sigmoid", "tanh", "relu", "exp")]
    return ", ".join(p for p in parts if not p.startswith("0 ")) or "no activations"


def _bytes(n: int) -> str:
    if abs(n) < KIB:
        return f"{n:,} B"
    return f"{n:,} B ({n / KIB:,.1f} KiB)"


def _fit_lines(fit: Fit, markdown: bool) -> list[str]:
    t = fit.target
    verdict = "fits" if fit.fits else "does NOT fit"
    head = f"Fit on {t.name}: {verdict} ({fit.mode}, {fit.compute} weights)"
    rate = fit.max_sample_rate_hz
    lines = [
        f"#### {head}" if markdown else head,
        "",
        f"- RAM: needs {_bytes(fit.ram_needed)} of {_bytes(t.ram_bytes)}, margin "
        f"{_bytes(fit.ram_margin)} ({100 * fit.ram_margin / t.ram_bytes:.1f}%)",
        f"- flash: needs {_bytes(fit.flash_needed)} of {_bytes(t.flash_bytes)}, margin "
        f"{_bytes(fit.flash_margin)} ({100 * fit.flash_margin / t.flash_bytes:.1f}%)",
        f"- estimated latency per time step: {_seconds(fit.latency_per_step_s)} "
        f"({fit.cycles_per_step:,.0f} cycles), so at most {rate:,.1f} samples/s in real time",
        f"- estimated time for the whole analyzed run: {_seconds(fit.latency_per_run_s)}",
        "",
        "Estimates, assuming:",
    ]
    lines += [f"- {a}" for a in fit.assumptions]
    return lines


def _seconds(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:,.1f} µs"
    if s < 1:
        return f"{s * 1e3:,.2f} ms"
    return f"{s:,.2f} s"


def _render(heads: list[str], aligns: str, rows: list[list[str]], markdown: bool) -> list[str]:
    """A table as text lines: pipes for Markdown, aligned columns for a terminal."""
    if markdown:
        rule = ["---:" if a == "r" else "---" for a in aligns]
        return ["| " + " | ".join(row) + " |" for row in [heads, rule, *rows]]
    widths = [max(len(x) for x in col) for col in zip(heads, *rows, strict=True)]

    def fmt(row: list[str]) -> str:
        cells = [
            c.rjust(w) if a == "r" else c.ljust(w)
            for c, w, a in zip(row, widths, aligns, strict=True)
        ]
        return "  ".join(cells).rstrip()

    rule = "─" * (sum(widths) + 2 * (len(widths) - 1))
    return [fmt(heads), rule, *(fmt(r) for r in rows)]
