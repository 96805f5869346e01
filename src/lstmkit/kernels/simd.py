"""Vector registers inside compiled kernels: one 512-bit vector of float32 (16 lanes) or
float64 (8 lanes) as a Numba value, with the few operations a register-blocked matrix
product needs (load, store, broadcast, zero, fused multiply-add).

LLVM keeps such values in registers, which Numba's arrays never are: a product that
accumulates in arrays stores and reloads its partial sums at every term. The
multiply-add is LLVM's ``llvm.fma`` intrinsic, one rounding per term by definition,
whatever the optimizer decides; so these kernels need no ``fastmath`` and give the same
bits compiled fresh or loaded from the cache (kernels/sequence.py says why that
matters). On a CPU without 512-bit vectors LLVM splits each operation into narrower
ones: still correct, but :data:`WIDE` is False there and kernels/smallgemm.py leaves the
products to BLAS.
"""

from __future__ import annotations

import os

import llvmlite.binding as llvm
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model


def _host_has_avx512() -> bool:
    """Whether Numba compiles for this CPU and the CPU has 512-bit vectors."""
    if os.environ.get("NUMBA_CPU_NAME", "host") != "host":
        return False  # a portable build (NUMBA_CPU_NAME=generic, say) gets no AVX-512
    try:
        return bool(llvm.get_host_cpu_features().get("avx512f", False))
    except RuntimeError:  # pragma: no cover - LLVM could not read the features
        return False


#: Whether this CPU runs the vector kernels at full width (AVX-512).
WIDE = _host_has_avx512()


class Vec(types.Type):
    """A vector of ``lanes`` elements of ``dtype`` (a Numba float type)."""

    def __init__(self, dtype: types.Float, lanes: int) -> None:
        self.dtype, self.lanes = dtype, lanes
        super().__init__(name=f"vec({dtype}x{lanes})")


VEC32 = Vec(types.float32, 16)
VEC64 = Vec(types.float64, 8)
_BY_DTYPE = {types.float32: VEC32, types.float64: VEC64}


def _llvm_type(vec: Vec) -> ir.VectorType:
    element = ir.FloatType() if vec.dtype == types.float32 else ir.DoubleType()
    return ir.VectorType(element, vec.lanes)


@register_model(Vec)
class _VecModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type) -> None:
        super().__init__(dmm, fe_type, _llvm_type(fe_type))


def _element_pointer(context, builder, aryty, ary, i, j):
    a = context.make_array(aryty)(context, builder, ary)
    shape = cgutils.unpack_tuple(builder, a.shape, aryty.ndim)
    strides = cgutils.unpack_tuple(builder, a.strides, aryty.ndim)
    return cgutils.get_item_pointer2(context, builder, a.data, shape, strides, aryty.layout,
                                     [i, j], wraparound=False)  # fmt: skip


@intrinsic
def vload(typingctx, arr, i, j):
    """``arr[i, j : j + lanes]`` of a 2-D float array whose rows have unit stride."""
    vec = _BY_DTYPE[arr.dtype]

    def codegen(context, builder, sig, args):
        ptr = _element_pointer(context, builder, sig.args[0], args[0], args[1], args[2])
        return builder.load(builder.bitcast(ptr, _llvm_type(vec).as_pointer()), align=1)

    return vec(arr, i, j), codegen


@intrinsic
def vstore(typingctx, arr, i, j, v):
    """``arr[i, j : j + lanes] = v``."""

    def codegen(context, builder, sig, args):
        ptr = _element_pointer(context, builder, sig.args[0], args[0], args[1], args[2])
        builder.store(args[3], builder.bitcast(ptr, _llvm_type(sig.args[3]).as_pointer()),
                      align=1)  # fmt: skip
        return context.get_dummy_value()

    return types.none(arr, i, j, v), codegen


@intrinsic
def vbroadcast(typingctx, x):
    """A vector with ``x`` (a float32 or float64 scalar) in every lane."""
    vec = _BY_DTYPE[x]

    def codegen(context, builder, sig, args):
        lty = _llvm_type(vec)
        one = builder.insert_element(ir.Constant(lty, ir.Undefined), args[0],
                                     ir.Constant(ir.IntType(32), 0))  # fmt: skip
        mask = ir.Constant(ir.VectorType(ir.IntType(32), vec.lanes), [0] * vec.lanes)
        return builder.shuffle_vector(one, ir.Constant(lty, ir.Undefined), mask)

    return vec(x), codegen


@intrinsic
def vzeros(typingctx, arr):
    """A vector of zeros of ``arr``'s dtype."""
    vec = _BY_DTYPE[arr.dtype]

    def codegen(context, builder, sig, args):
        return ir.Constant(_llvm_type(vec), [0.0] * vec.lanes)

    return vec(arr), codegen


@intrinsic
def vfma(typingctx, a, b, c):
    """``a · b + c`` lane by lane, rounded once (``llvm.fma``)."""

    def codegen(context, builder, sig, args):
        lty = _llvm_type(sig.args[0])
        suffix = f"v{sig.args[0].lanes}f{32 if sig.args[0].dtype == types.float32 else 64}"
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(lty, [lty] * 3),
                                            f"llvm.fma.{suffix}")  # fmt: skip
        return builder.call(fn, list(args))

    return a(a, b, c), codegen


@intrinsic
def vadd(typingctx, a, b):
    """``a + b`` lane by lane."""

    def codegen(context, builder, sig, args):
        return builder.fadd(args[0], args[1])

    return a(a, b), codegen


@intrinsic
def element(typingctx, arr, offset):
    """The element ``offset`` elements past the start of ``arr``'s data (any shape; the
    caller computes the offset from the strides)."""

    def codegen(context, builder, sig, args):
        a = context.make_array(sig.args[0])(context, builder, args[0])
        return builder.load(builder.gep(a.data, [args[1]]))

    return arr.dtype(arr, offset), codegen
