"""Optional dependencies: import them by name, or fail with one line that
says which extra to install.

    ray = require("ray", extra="ray", purpose="--backend ray")

A missing optional library is a setup problem, not a bug: the user gets
`error: --backend ray needs ray: pip install "spacy-bilstm[ray]"`, not a
traceback ending in ModuleNotFoundError.
"""
import importlib
from types import ModuleType

from .errors import InputError


def require(module: str, *, extra: str, purpose: str) -> ModuleType:
    """Import an optional module, or raise an InputError naming the extra.

    module (str): The module to import, e.g. "ray" or "pyarrow.parquet".
    extra (str): The package extra that installs it, e.g. "ray".
    purpose (str): What needs it, for the message, e.g. "--backend ray".
    RETURNS (ModuleType): The module.
    RAISES (InputError): If it cannot be imported.
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        top = module.split(".")[0]
        raise InputError(
            f'{purpose} needs {top}, which is not installed: pip install "spacy-bilstm[{extra}]"',
            reason="missing_dependency",
        ) from err
