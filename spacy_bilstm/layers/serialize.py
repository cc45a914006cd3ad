"""Safe (de)serialization of torch weights inside thinc shims.

thinc's default shim serializer calls `torch.load` without restricting what
it may unpickle. A spaCy pipeline is often shared between colleagues, so we
only ever load plain tensors (`weights_only=True`): a planted pickle payload
fails with a `ModelLoadError` and never runs.
"""
import io
from typing import Any

from ..errors import ModelLoadError


def save_torch_state(module: Any) -> bytes:
    """Serialize a torch module's state dict (tensors only) to bytes."""
    import torch

    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    return buffer.getvalue()


def load_torch_state(module: Any, data: bytes, device: Any) -> Any:
    """Load weights saved by `save_torch_state` into `module`, safely.

    module (torch.nn.Module): The freshly built module to fill.
    data (bytes): The serialized state dict.
    device (torch.device): Where the weights should live.
    RETURNS (torch.nn.Module): The module, on `device`.
    RAISES (ModelLoadError): The data is not a plain tensor state dict, is
        corrupt, or does not fit the module (other widths or layers).
    """
    import pickle

    import torch

    try:
        state = torch.load(io.BytesIO(data), map_location=device, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, TypeError) as err:
        raise ModelLoadError(
            "Refusing to load torch weights that are not a plain tensor state "
            f"dict, or are corrupt ({type(err).__name__}: {str(err).splitlines()[0]})"
        ) from None
    if not isinstance(state, dict):
        raise ModelLoadError("Torch weights are not a state dict.")
    try:
        module.load_state_dict(state)
    except RuntimeError as err:
        raise ModelLoadError(
            "Saved weights do not fit this model (were widths, depth or cell "
            f"changed in the config?): {str(err).splitlines()[0]}"
        ) from None
    return module.to(device)
