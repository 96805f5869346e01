"""Operation counts: the unit every cost figure is expressed in.

The categories follow the cost conventions of docs/conventions.md: a MACC is one
multiply-accumulate inside a matrix-vector product (a product over ``K`` inputs for
``N`` outputs is ``N·K``, the first product starting the accumulator); every other
arithmetic operation on a vector element (bias add, ``⊙``, sum, difference,
comparison, division) is one *elementwise* op; each evaluation of a nonlinearity is
counted under its own name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar


@dataclass(frozen=True)
class Ops:
    """Counts of executed operations.

    Attributes
    ----------
    macc : multiply-accumulates of matrix-vector products.
    elementwise : other arithmetic on vector elements.
    sigmoid, tanh, relu, exp : evaluations of each nonlinearity.
    """

    macc: int = 0
    elementwise: int = 0
    sigmoid: int = 0
    tanh: int = 0
    relu: int = 0
    exp: int = 0

    NAMES: ClassVar[tuple[str, ...]] = ("macc", "elementwise", "sigmoid", "tanh", "relu", "exp")

    def __add__(self, other: Ops) -> Ops:
        if not isinstance(other, Ops):
            return NotImplemented
        return Ops(*(getattr(self, n) + getattr(other, n) for n in self.NAMES))

    def __mul__(self, k: int) -> Ops:
        if isinstance(k, bool) or not isinstance(k, int):
            return NotImplemented
        return Ops(*(getattr(self, n) * k for n in self.NAMES))

    __rmul__ = __mul__

    @property
    def activations(self) -> int:
        """Nonlinearity evaluations of every kind."""
        return self.sigmoid + self.tanh + self.relu + self.exp

    def to_dict(self) -> dict[str, int]:
        return {k: int(v) for k, v in asdict(self).items()}


def total(items: list[Ops]) -> Ops:
    """Sum of a list of counts (``Ops()`` for an empty list)."""
    out = Ops()
    for item in items:
        out = out + item
    return out
