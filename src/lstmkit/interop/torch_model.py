"""The ``nn.Module`` that :func:`lstmkit.interop.to_torch` returns (imports torch).

``forward(x, lengths=None)`` reproduces ``Sequential.predict``: batch-first input;
recurrent blocks that return sequences pass every step on (0 at padded steps), the
others pass each sequence's last valid step (for a bidirectional block, the final state
of each direction, forward first); Dense heads on sequences output 0 at padded steps.
"""

from __future__ import annotations

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

_ACT = {
    None: lambda z: z,
    "relu": torch.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "softmax": lambda z: torch.softmax(z, dim=-1),
}


class LstmkitTorchModel(torch.nn.Module):
    """A stack of PyTorch blocks with lstmkit's semantics (see the module docstring).

    Attributes
    ----------
    lstmkit_blocks : nn.ModuleList, the blocks in order.
    lstmkit_sequences : per block, whether a recurrent block returns sequences (else None).
    lstmkit_activations : per block, a Dense head's activation name (else None).
    lstmkit_config : the lstmkit architecture (``Sequential.get_config()``).
    """

    def __init__(self, blocks, sequences, activations, config) -> None:
        super().__init__()
        self.lstmkit_blocks = torch.nn.ModuleList(blocks)
        self.lstmkit_sequences = list(sequences)
        self.lstmkit_activations = list(activations)
        self.lstmkit_config = config

    def forward(self, x: torch.Tensor, lengths=None) -> torch.Tensor:
        T = x.shape[1]
        mask = None
        if lengths is not None:
            lengths = torch.as_tensor(lengths, dtype=torch.int64, device="cpu")
            mask = (torch.arange(T)[None, :] < lengths[:, None]).to(x.dtype)
        sequence = True
        for block, seq, act in zip(
            self.lstmkit_blocks, self.lstmkit_sequences, self.lstmkit_activations, strict=True
        ):
            if isinstance(block, torch.nn.RNNBase):
                if lengths is not None:
                    packed = pack_padded_sequence(
                        x, lengths, batch_first=True, enforce_sorted=False
                    )
                    out, state = block(packed)
                    out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
                else:
                    out, state = block(x)
                h_n = state[0] if isinstance(block, torch.nn.LSTM) else state
                if seq:
                    x = out
                else:
                    x = torch.cat([h_n[-2], h_n[-1]], dim=-1) if block.bidirectional else h_n[-1]
                    sequence = False
            elif isinstance(block, torch.nn.Linear):
                x = _ACT[act](block(x))
                if sequence and mask is not None:
                    x = x * mask[..., None]
            else:
                x = block(x)
        return x
