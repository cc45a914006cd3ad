"""A thinc wrapper for a torch module whose input width is read from data.

thinc layers learn their input width (`nI`) in `init`, from a sample of what
reaches them, so an architecture composes without widths fixed up front. A
torch module cannot wait: its weight shapes depend on that width. So the
wrapper is created at once (the model's structure, which thinc checks when
it loads weights, never changes) and the module inside it is built later:
when the owning layer's `init` knows `nI` (`build_torch_module`), or, when
saved weights are loaded into a model that was never initialized, from the
width of those weights.
"""
from functools import partial
from typing import Any, Callable, Optional

from thinc.api import Model, get_torch_default_device

from .serialize import load_torch_state, save_torch_state

# Builds the torch module for an input width.
ModuleBuilder = Callable[[int], Any]


def LazyTorchWrapper(
    build: ModuleBuilder,
    nI: Optional[int],
    width_key: str,
    convert_inputs: Callable,
    convert_outputs: Callable,
) -> Model:
    """A `PyTorchWrapper_v3` whose module is built when its input width is known.

    build (Callable[[int], torch.nn.Module]): Builds the module for an input
        width. A picklable callable (e.g. a `functools.partial` of the
        module's class), since thinc deep-copies shims.
    nI (Optional[int]): The input width, if known now: the module is built at once.
    width_key (str): The state-dict entry whose last axis is the input width,
        e.g. "rnn.cells.0.weight_ih_l0".
    convert_inputs (Callable): As for `PyTorchWrapper_v3`.
    convert_outputs (Callable): As for `PyTorchWrapper_v3`.
    RETURNS (Model): The wrapper; its module is `shims[0]._model`, None until built.
    """
    from thinc.api import PyTorchWrapper_v3

    return PyTorchWrapper_v3(
        build(nI) if nI is not None else None,
        convert_inputs=convert_inputs,
        convert_outputs=convert_outputs,
        serialize_model=save_torch_state,
        deserialize_model=partial(load_torch_state, build=build, width_key=width_key),
    )


def build_torch_module(wrapper: Model, nI: int) -> None:
    """Build the wrapper's torch module for input width `nI`, unless it is built.

    wrapper (Model): A `LazyTorchWrapper`.
    nI (int): The input width.
    """
    shim = wrapper.shims[0]
    if shim._model is None:
        build = shim._deserialize_model.keywords["build"]
        shim._model = build(nI).to(get_torch_default_device())


def input_width(X: Any) -> Optional[int]:
    """The width of the first array in a (nested) list or tuple of arrays,
    or None if there is none.

    X (Any): An array, or lists and tuples holding arrays.
    RETURNS (Optional[int]): The size of the last axis.
    """
    if hasattr(X, "shape"):
        return int(X.shape[-1])
    if isinstance(X, (list, tuple)):
        for item in X:
            width = input_width(item)
            if width is not None:
                return width
    return None


def init_input_width(model: Model, X: Any) -> int:
    """Set `model`'s `nI` from a sample input (or check it against the one
    it has) and return it.

    model (Model): A layer with an `nI` dimension.
    X (Any): A sample of its input, or None.
    RETURNS (int): The input width.
    RAISES (ValueError): The width is unknown, or differs from the layer's.
    """
    width = input_width(X) if X is not None else None
    known = model.get_dim("nI") if model.has_dim("nI") else None
    if width is not None and known is not None and width != known:
        raise ValueError(f"{model.name} was built for inputs of width {known}, but got width {width}.")
    if known is None:
        if width is None:
            raise ValueError(f"{model.name} needs a sample of its input in initialize() to find its input width.")
        model.set_dim("nI", width)
    return model.get_dim("nI")
