"""Compiled (Numba) kernels behind ``lstmkit.ops`` when the backend is ``numba``.

Each kernel fuses one time step's elementwise work into a single pass over memory; the
matrix products stay with the BLAS NumPy links. Kernels are compiled on first use and
cached on disk (``cache=True``), so only the kernels a program uses are compiled, once.
"""
