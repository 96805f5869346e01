"""Centred finite differences and a relative error that cannot hide a wrong gradient."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_grad(loss: Callable[[], float], arr: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d loss / d arr by centred differences, perturbing ``arr`` in place (float64 only).

    Parameters
    ----------
    loss : callable returning a float; it must read ``arr`` when called.
    arr : ndarray of float64, any shape; restored on return.

    Returns
    -------
    ndarray, same shape as ``arr``
    """
    assert arr.dtype == np.float64, "finite differences are only meaningful in float64"
    grad = np.zeros_like(arr)
    flat, gflat = arr.reshape(-1), grad.reshape(-1)
    for k in range(flat.size):
        old = flat[k]
        flat[k] = old + eps
        up = loss()
        flat[k] = old - eps
        down = loss()
        flat[k] = old
        gflat[k] = (up - down) / (2 * eps)
    return grad


def rel_error(ours: np.ndarray, ref: np.ndarray) -> float:
    """``‖ours − ref‖ / max(‖ours‖, ‖ref‖)`` (0 when both are exactly 0).

    Norm-based rather than elementwise so that entries near 0, where the finite
    difference's own rounding (~1e-10) dominates, do not make the check meaningless.
    """
    denom = max(np.linalg.norm(ours), np.linalg.norm(ref))
    if denom == 0.0:
        return 0.0
    return float(np.linalg.norm(ours - ref) / denom)


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
