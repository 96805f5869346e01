"""The adding problem: an LSTM carries a value across 100 steps; a plain RNN struggles.

Trains each requested cell through lstmkit's own ``fit`` on fresh batches, evaluates a
fixed test set, prints a table and (with ``--plot``) writes learning curves.

    python examples/adding_problem.py --T 100 --cells lstm gru rnn --steps 4000 \
        --plot docs/img/adding_T100.png

See docs/experiments.md for the recorded results and the exact commands.
"""

from __future__ import annotations

import argparse
import json
import time

from lstmkit.experiments.adding import BASELINE_MSE, CELLS, train_adding


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--T", type=int, default=100, help="sequence length (default 100)")
    ap.add_argument("--cells", nargs="+", choices=list(CELLS), default=["lstm", "gru", "rnn"])
    ap.add_argument("--hidden", type=int, default=64, help="hidden units (default 64)")
    ap.add_argument("--steps", type=int, default=4000, help="training updates (default 4000)")
    ap.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    ap.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    ap.add_argument("--clip-norm", type=float, default=1.0, help="global-norm clip (default 1)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--plot", help="write learning curves to this PNG")
    ap.add_argument("--json", help="write the learning curves to this JSON file")
    args = ap.parse_args(argv)

    results = []
    for cell in args.cells:
        t0 = time.perf_counter()
        r = train_adding(
            T=args.T, cell=cell, hidden=args.hidden, steps=args.steps, seed=args.seed,
            batch=args.batch, lr=args.lr, clip_norm=args.clip_norm, eval_every=args.eval_every,
            progress=lambda r: print(f"  {r.cell} step {r.steps[-1]:>6}  test MSE "
                                     f"{r.test_mse[-1]:.4f}", flush=True),
        )  # fmt: skip
        r.seconds = time.perf_counter() - t0
        results.append(r)

    print(
        f"\nadding problem, T={args.T}, hidden={args.hidden}, {args.steps} updates of batch "
        f"{args.batch}, seed {args.seed}; always answering 1 scores {BASELINE_MSE:.3f}"
    )
    print(f"{'cell':<6}{'final MSE':>11}{'best MSE':>10}{'first < 0.01':>14}{'seconds':>9}")
    for r in results:
        hit = next((s for s, m in zip(r.steps, r.test_mse, strict=True) if m < 0.01), None)
        print(f"{r.cell:<6}{r.final_mse:>11.4f}{r.best_mse:>10.4f}"
              f"{'never' if hit is None else hit:>14}{r.seconds:>9.0f}")  # fmt: skip

    if args.json:
        with open(args.json, "w") as f:
            json.dump([{"cell": r.cell, "T": r.T, "hidden": r.hidden, "steps": r.steps,
                        "test_mse": r.test_mse} for r in results], f, indent=1)  # fmt: skip
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4))
        for r in results:
            ax.plot(r.steps, r.test_mse, label=r.cell.upper())
        ax.axhline(BASELINE_MSE, color="grey", ls="--", lw=1, label="always 1 (0.167)")
        ax.axhline(0.01, color="grey", ls=":", lw=1, label="0.01")
        ax.set_yscale("log")
        ax.set_xlabel(f"training updates (batch {args.batch})")
        ax.set_ylabel("test MSE")
        ax.set_title(f"Adding problem, T = {args.T}, {args.hidden} units, seed {args.seed}")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)
        print(f"learning curves written to {args.plot}")


if __name__ == "__main__":
    main()
