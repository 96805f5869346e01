"""The report's thop and ptflops columns against the real tools, run on the torch modules
``to_torch`` builds (one module per lstmkit layer), and what thop does instead on one
multi-layer ``nn.LSTM``."""

import pytest

torch = pytest.importorskip("torch")
thop = pytest.importorskip("thop")
ptflops = pytest.importorskip("ptflops")

import lstmkit as lk  # noqa: E402
from lstmkit.cost.other_tools import other_tools  # noqa: E402
from lstmkit.interop import to_torch  # noqa: E402

pytestmark = [pytest.mark.one_backend, pytest.mark.filterwarnings("ignore")]
T = 12

LAYERS = [
    (lk.LSTM(24, proj_size=8, return_sequences=True), 4),
    (lk.LSTM(24, proj_size=8), 8),
    (lk.LSTM(6, proj_size=2, bidirectional=True), 3),
    (lk.LSTM(7, bidirectional=True), 2),
    (lk.LSTM(5), 1),
    (lk.GRU(6, bidirectional=True), 3),
    (lk.GRU(9), 4),
    (lk.RNN(5, activation="relu"), 3),
    (lk.RNN(8, bidirectional=True), 2),
]


def tool_figures(block, D, batch):
    x = torch.randn(batch, T, D)
    macs_thop, _ = thop.profile(block, inputs=(x,), verbose=False)
    macs_ptflops, _ = ptflops.get_model_complexity_info(
        block, (T, D), as_strings=False, print_per_layer_stat=False, verbose=False,
        backend="pytorch")  # fmt: skip
    return int(macs_thop), int(macs_ptflops)


def _id(v):
    if isinstance(v, int):
        return f"D{v}"
    return f"{type(v).__name__}{v.hidden_size}-{'bi' if v.bidirectional else 'uni'}"


@pytest.mark.parametrize("layer, D", LAYERS, ids=_id)
def test_report_columns_equal_what_thop_and_ptflops_count(layer, D):
    model = lk.Sequential([layer], input_size=D)
    block = to_torch(model).lstmkit_blocks[0]
    for batch in (1, 3):
        got_thop, got_ptflops = tool_figures(block, D, batch)
        per_step = [other_tools(model.layers[0], d) for d in model.layers[0].directions]
        assert got_thop == batch * T * sum(f["thop"] for f in per_step)
        # ptflops runs one sample (batch 1), whatever the module
        assert got_ptflops == T * sum(f["ptflops"] for f in per_step)


def test_thop_counts_a_stacked_projected_lstm_module_with_hidden_size_inputs():
    """Documented in docs/cost.md: on one ``nn.LSTM(num_layers=2, proj_size=P)`` thop
    takes ``hidden_size`` as the second layer's input where the layer reads ``P``
    numbers; the report's column describes the one-layer modules ``to_torch`` builds."""
    H, P, D = 24, 8, 4
    stacked = torch.nn.LSTM(D, H, proj_size=P, num_layers=2, batch_first=True)
    got, _ = thop.profile(stacked, inputs=(torch.randn(1, T, D),), verbose=False)
    assert int(got) == T * ((4 * H * (D + H) + 16 * H) + (4 * H * (H + H) + 16 * H)) == 96_768
    model = lk.Sequential([lk.LSTM(H, proj_size=P, return_sequences=True),
                           lk.LSTM(H, proj_size=P)], input_size=D)  # fmt: skip
    per_layer = sum(T * other_tools(la, "forward")["thop"] for la in model.layers)
    assert per_layer == 78_336
    blocks = to_torch(model).lstmkit_blocks
    x = torch.randn(1, T, D)
    thop_blocks = int(thop.profile(blocks[0], inputs=(x,), verbose=False)[0])
    thop_blocks += int(thop.profile(blocks[1], inputs=(torch.randn(1, T, P),), verbose=False)[0])
    assert thop_blocks == per_layer
