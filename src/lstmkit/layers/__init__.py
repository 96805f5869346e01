"""Layers with parameters, forward and backward, built on :mod:`lstmkit.ops`.

Every layer is batch-first. Recurrent layers (:class:`LSTM`, :class:`GRU`, :class:`RNN`)
read ``(B, T, D)``; :class:`Dense` and :class:`Dropout` read ``(B, F)`` or ``(B, T, F)``.
"""

from lstmkit.layers.base import Layer, weights_changed
from lstmkit.layers.dense import Dense
from lstmkit.layers.dropout import Dropout
from lstmkit.layers.recurrent import GRU, LSTM, RNN, Recurrent

__all__ = ["GRU", "LSTM", "RNN", "Dense", "Dropout", "Layer", "Recurrent", "weights_changed"]
