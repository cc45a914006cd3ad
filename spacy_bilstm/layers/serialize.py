"""Safe (de)serialization of torch weights inside thinc shims.

thinc's default shim serializer calls `torch.load` without restricting what
it may unpickle. A spaCy pipeline is often shared between colleagues, so we
only ever load plain tensors (`weights_only=True`): a planted pickle payload
fails with a `ModelLoadError` and never runs.
"""
import io
from typing import Any, Callable, Optional

from ..errors import ModelLoadError


def save_torch_state(module: Any) -> bytes:
    """Serialize a torch module's state dict (tensors only) to bytes; a
    module not built yet (None) saves as an empty state dict."""
    import torch

    buffer = io.BytesIO()
    torch.save(module.state_dict() if module is not None else {}, buffer)
    return buffer.getvalue()


def load_torch_state(
    module: Any,
    data: bytes,
    device: Any,
    *,
    build: Optional[Callable[[int], Any]] = None,
    width_key: Optional[str] = None,
    build_from_state: Optional[Callable[[dict], Any]] = None,
) -> Any:
    """Load weights saved by `save_torch_state` into `module`, safely.

    module (Optional[torch.nn.Module]): The freshly built module to fill, or
        None if it is not built yet (see `LazyTorchWrapper`).
    data (bytes): The serialized state dict.
    device (torch.device): Where the weights should live.
    build (Optional[Callable[[int], torch.nn.Module]]): Builds the module
        for an input width, when `module` is None.
    width_key (Optional[str]): The state entry whose last axis is that width.
    build_from_state (Optional[Callable[[dict], torch.nn.Module]]): Instead
        of `build`: builds the module from the saved state's shapes.
    RETURNS (Optional[torch.nn.Module]): The module, on `device` (None if
        none was built and the saved state is empty).
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
    if module is None:
        if not state:
            return None
        if build_from_state is not None:
            try:
                return build_from_state(state).to(device)
            except (KeyError, RuntimeError) as err:
                raise ModelLoadError(f"Saved torch weights do not fit this model: {err}") from None
        if build is None or width_key not in state:
            raise ModelLoadError(f"Saved torch weights have no {width_key!r} to read the input width from.")
        module = build(int(state[width_key].shape[-1]))
    try:
        module.load_state_dict(state)
    except RuntimeError as err:
        raise ModelLoadError(
            "Saved weights do not fit this model (were widths, depth or cell "
            f"changed in the config?): {str(err).splitlines()[0]}"
        ) from None
    return module.to(device)
