"""The one definition of each cell step, and the interpreters that run it.

:mod:`~lstmkit.steps.define` writes each step (LSTM with its options, GRU in both
variants, RNN, Dense) once, against a small arithmetic interface. Each interpreter gives
that arithmetic a meaning:

- :class:`lstmkit.cost.counting.Counter` computes with NumPy and tallies every operation
  (the analyzer's proof, and the C's COUNT lines);
- :class:`~lstmkit.steps.graph.Tracer` records a graph of float32 operations, which
  :mod:`~lstmkit.steps.schedule` turns into loops and :mod:`lstmkit.export.c_step`
  prints as C;
- :class:`~lstmkit.steps.fixed.FixedTracer` records the same step in integer arithmetic,
  every value carrying its fixed-point format; :func:`~lstmkit.steps.fixed.evaluate` runs
  that graph with NumPy (the Python integer model) and the same printer writes it as C,
  so the int8 C and the Python model are one program.

The NumPy reference (:mod:`lstmkit.ops`) and the Numba kernels stay hand-written for
speed and gradients; agreement tests hold them to this definition.
"""
