"""Ordinary PyTorch state dicts with ``--input-size``/``--layers``: keys of a custom
module or an ``nn.Sequential`` map by order and shape; a tensor that does not fit is
named, with the message whole."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lstmkit.cli import main  # noqa: E402
from lstmkit.interop import InteropError  # noqa: E402
from lstmkit.interop.files import read_model  # noqa: E402

pytestmark = pytest.mark.one_backend
X = np.random.default_rng(0).normal(size=(2, 9, 8)).astype(np.float32)


class Forecaster(torch.nn.Module):
    """The usual custom module: ``y, _ = self.lstm(x); return self.fc(y[:, -1])``."""

    def __init__(self, layers=1):
        super().__init__()
        self.lstm = torch.nn.LSTM(8, 16, num_layers=layers, batch_first=True)
        self.fc = torch.nn.Linear(16, 1)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.fc(y[:, -1])


def saved(module, tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "net.pt"
    torch.save(module.state_dict(), path)
    return path


@pytest.mark.parametrize("layers, spec", [(1, "lstm:16,dense:1"), (2, "lstm:16,lstm:16,dense:1")])
def test_a_custom_modules_state_dict_maps_by_order(layers, spec, tmp_path):
    torch.manual_seed(layers)
    module = Forecaster(layers).eval()
    model = read_model(saved(module, tmp_path), input_size=8, layers=spec)
    with torch.no_grad():
        want = module(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(model.predict(X), want, rtol=0, atol=1e-5)


def test_an_nn_sequential_state_dict_maps_by_order(tmp_path):
    torch.manual_seed(4)
    gru = torch.nn.GRU(8, 6, batch_first=True)
    path = saved(torch.nn.Sequential(gru), tmp_path)  # keys 0.weight_ih_l0, ...
    model = read_model(path, input_size=8, layers="gru:6:seq")
    with torch.no_grad():
        want = gru(torch.from_numpy(X))[0].numpy()
    np.testing.assert_allclose(model.predict(X), want, rtol=0, atol=1e-5)


def test_a_tensor_that_does_not_fit_is_named(tmp_path):
    path = saved(Forecaster(), tmp_path)
    why = (
        r"tensor 'lstm.weight_ih_l0' has shape \(64, 8\), but in the file's order it is "
        r"lstm's weight_ih_l0, of shape \(48, 8\)"
    )
    with pytest.raises(InteropError, match=why):
        read_model(path, input_size=8, layers="lstm:12,dense:1")


def test_a_wrong_number_of_tensors_lists_what_is_needed(tmp_path):
    path = saved(Forecaster(), tmp_path)
    with pytest.raises(InteropError, match="has 6 tensors where --layers needs 4"):
        read_model(path, input_size=8, layers="lstm:16")


def test_the_command_line_message_is_whole_on_one_line(tmp_path, capsys):
    path = saved(Forecaster(), tmp_path)
    code = main(["convert", str(path), str(tmp_path / "m.safetensors"), "--input-size", "8",
                 "--layers", "lstm:12,dense:1"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert err.endswith("(and that the module registers its layers in the order they run)")
    assert not (tmp_path / "m.safetensors").exists()
