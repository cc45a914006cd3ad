"""Errors that name the file, the line and the problem.

Every reader and command in the package raises `InputError` for bad input, so
the command line can print one line (``FILE:LINE: what is wrong``) and exit
non-zero instead of showing a traceback from deep inside spaCy or thinc.
"""
from pathlib import Path
from typing import Optional, Union


class InputError(ValueError):
    """Bad input: a file, a record in it, or an argument.

    path (Optional[Union[str, Path]]): The file the problem is in.
    line (Optional[int]): The 1-based line (or record) number.
    message (str): What is wrong, and where possible what to do.
    reason (str): A short, stable key for counting skipped records by reason.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Optional[Union[str, Path]] = None,
        line: Optional[int] = None,
        reason: str = "invalid",
    ) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.message = message
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
            where += ": "
        return f"{where}{self.message}"


class ModelLoadError(RuntimeError):
    """A saved pipeline component could not be loaded safely or consistently."""
