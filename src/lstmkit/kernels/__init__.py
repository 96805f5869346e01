"""Compiled (Numba) kernels behind ``lstmkit.ops`` when the backend is ``numba``.

Each forward, backward and inference time loop is one compiled call (``lstm``, ``gru``,
``rnn``), built on shared pieces (``sequence``: masks, weight gradients, input
projection) and on ``blas``, which calls the OpenBLAS NumPy ships from compiled code.
Kernels are compiled on first use and cached on disk (``cache=True``), so a program
compiles only the kernels it uses, once (docs/performance.md).
"""

# Cached kernels keyed on all kernel files (kernels/cachekey.py): before any is defined.
from lstmkit.kernels import cachekey as _cachekey

# Times every compilation and tells the user when one takes long (kernels/compiling.py).
from lstmkit.kernels import compiling as _compiling  # noqa: F401
from lstmkit.memory import tune_malloc as _tune_malloc

_cachekey.install()

# Training steps reuse freed memory instead of faulting in fresh pages (memory.py).
_tune_malloc()
