"""Checks every gradient an op returns against centred finite differences."""

from __future__ import annotations

import numpy as np

from lstmkit.gradcheck import numerical_grad, rel_error


def random_lengths(rng: np.random.Generator, B: int, T: int) -> np.ndarray | None:
    """None a third of the time, else independent lengths in 1..T."""
    if rng.random() < 1 / 3:
        return None
    return rng.integers(1, T + 1, size=B)


def check_op_gradients(forward, backward, args: dict, kwargs: dict, rng, tol: float = 1e-6):
    """Compare every gradient ``backward`` returns with finite differences of ``forward``.

    The loss is ``Σ_k ⟨R_k, out_k⟩`` over the forward's outputs (all but the cache) with
    random ``R_k``, so every output and every element is exercised.

    Returns
    -------
    dict of str to float
        The relative error of each gradient (all asserted below ``tol``).
    """
    outs = forward(**args, **kwargs)[:-1]
    weights = [rng.standard_normal(o.shape) for o in outs]

    def loss() -> float:
        res = forward(**args, **kwargs)[:-1]
        return float(sum(np.sum(w * o) for w, o in zip(weights, res, strict=True)))

    cache = forward(**args, **kwargs)[-1]
    grads = backward(*weights, cache)
    expected = {k for k, v in args.items() if isinstance(v, np.ndarray)}
    assert set(grads) == expected, f"gradients {sorted(grads)} != arguments {sorted(expected)}"
    errors = {}
    for name, g in grads.items():
        assert g.shape == args[name].shape, f"d{name} has shape {g.shape}"
        errors[name] = rel_error(g, numerical_grad(loss, args[name]))
        assert errors[name] < tol, f"d{name}: relative error {errors[name]:.2e}"
    return errors
