"""Optimizers against torch.optim: the same parameters after several steps."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lstmkit.training import SGD, Adam, AdamW, RMSprop, get_optimizer  # noqa: E402

CASES = [
    (lambda: SGD(lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    (lambda: SGD(lr=0.1, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
    (
        lambda: SGD(lr=0.1, momentum=0.8, nesterov=True),
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.8, nesterov=True),
    ),
    (lambda: Adam(lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    (
        lambda: Adam(lr=0.01, weight_decay=0.1),
        lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.1),
    ),
    (
        lambda: AdamW(lr=0.01, weight_decay=0.1),
        lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1),
    ),
    (
        lambda: RMSprop(lr=0.01, rho=0.9, eps=1e-8),
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-8),
    ),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_optimizer_matches_torch(case):
    ours_f, theirs_f = CASES[case]
    rng = np.random.default_rng(case)
    params = [rng.standard_normal((4, 3)), rng.standard_normal(5)]
    tparams = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    ours, theirs = ours_f(), theirs_f(tparams)
    for k in range(6):
        grads = [rng.standard_normal(p.shape) for p in params]
        lr = 0.5**k * ours.lr  # a schedule changes lr between steps
        for g in theirs.param_groups:
            g["lr"] = lr
        for tp, g in zip(tparams, grads, strict=True):
            tp.grad = torch.tensor(g)
        theirs.step()
        ours.step(params, grads, lr)
    for p, tp in zip(params, tparams, strict=True):
        np.testing.assert_allclose(p, tp.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_float32_parameters_stay_float32():
    p = [np.ones(3, np.float32)]
    Adam().step(p, [np.ones(3, np.float64)])
    assert p[0].dtype == np.float32


def test_get_optimizer():
    assert isinstance(get_optimizer("rmsprop", lr=0.1), RMSprop)
    assert get_optimizer("sgd", lr=0.5).lr == 0.5
    opt = Adam(lr=0.1)
    assert get_optimizer(opt, lr=0.2) is opt and opt.lr == 0.2
    with pytest.raises(ValueError, match="unknown optimizer 'adagrad'"):
        get_optimizer("adagrad")
    with pytest.raises(ValueError, match="nesterov"):
        SGD(nesterov=True)


@pytest.mark.one_backend
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_compiled_adam_is_bit_identical_to_numpy(name, dtype):
    """kernels/optim.py repeats the NumPy update operation for operation."""
    from lstmkit.backend import numba_available, use_backend

    if not numba_available():
        pytest.skip("the compiled update needs numba")
    rng = np.random.default_rng(0)
    start = [rng.standard_normal(s).astype(dtype) for s in ((7, 3), (5,))]
    grads = [[rng.standard_normal(p.shape).astype(dtype) for p in start] for _ in range(5)]
    results = {}
    for backend in ("numpy", "numba"):
        with use_backend(backend):
            params = [p.copy() for p in start]
            opt = {"adam": Adam, "adamw": AdamW}[name](lr=0.01, weight_decay=0.1)
            for g in grads:
                opt.step(params, [x.copy() for x in g])
            results[backend] = params
    for a, b in zip(results["numpy"], results["numba"], strict=True):
        assert a.tobytes() == b.tobytes()
    assert not np.array_equal(results["numba"][0], start[0])
