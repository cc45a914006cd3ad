"""JSON Lines: one JSON object per line, parsed and checked as a stream.

Shared by the NER and text-classification JSONL readers. Blank lines are
allowed and are not records; every other line is one record.
"""
import json
import re
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple, Union

from ..errors import InputError
from .decoding import iter_lines

_SURROGATE = re.compile("[\ud800-\udfff]")
# msgpack (DocBin user data) stores integers in 64 bits and refuses deeper
# nesting than 511; no record needs a tenth of that.
_MIN_INT = -(2**63)
_MAX_INT = 2**64 - 1
MAX_DEPTH = 50


def iter_jsonl(
    path: Union[str, Path], encoding: Optional[str] = None
) -> Iterator[Tuple[int, Union[Dict[str, Any], InputError]]]:
    """Stream the records of a JSONL file.

    path (Union[str, Path]): The file.
    encoding (Optional[str]): As for `iter_lines`.
    YIELDS (Tuple[int, Union[Dict[str, Any], InputError]]): (line number,
        the object or the problem) per non-blank line. Problems: bad bytes,
        "invalid_json", "not_object", and what `storage_problem` finds
        ("invalid_unicode", "number_out_of_range", "too_deep"): values that
        could never be written to a DocBin.
    RAISES (InputError): For a missing or empty file.
    """
    path = Path(path)
    for line in iter_lines(path, encoding):
        if line.error is None and not line.text.strip():
            continue
        if line.error is not None:
            yield line.number, line.error
            continue
        try:
            value = json.loads(line.text)
        except json.JSONDecodeError as err:
            yield line.number, InputError(
                f"invalid JSON: {err.msg} at character {err.colno}",
                path=path,
                line=line.number,
                reason="invalid_json",
            )
            continue
        except RecursionError:
            yield line.number, InputError(
                "invalid JSON: nested too deeply", path=path, line=line.number, reason="invalid_json"
            )
            continue
        except ValueError as err:
            # e.g. an integer literal longer than Python's 4300-digit limit
            yield line.number, InputError(
                f"invalid JSON: {err}", path=path, line=line.number, reason="invalid_json"
            )
            continue
        if not isinstance(value, dict):
            yield line.number, InputError(
                f"expected a JSON object, got {json_type(value)}",
                path=path,
                line=line.number,
                reason="not_object",
            )
            continue
        problem = storage_problem(value)
        if problem is not None:
            reason, message = problem
            yield line.number, InputError(message, path=path, line=line.number, reason=reason)
            continue
        yield line.number, value


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def storage_problem(value: Any) -> Optional[Tuple[str, str]]:
    """Why a parsed JSON value could not be stored in a DocBin, if it could not.

    DocBins store user data with msgpack, which rejects lone surrogates (from
    escapes like \\ud800), integers outside 64 bits and nesting deeper than
    its recursion limit; we check for these up front so that a bad record is
    reported with its line instead of failing when the DocBin is written.

    value (Any): A value from `json.loads`.
    RETURNS (Optional[Tuple[str, str]]): (reason, message), or None if fine.
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return "too_deep", f"JSON nested deeper than {MAX_DEPTH} levels"
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return (
                    "invalid_unicode",
                    "a string holds a lone surrogate escape (e.g. \\ud800), which is not valid Unicode",
                )
        elif is_int(item):
            if not _MIN_INT <= item <= _MAX_INT:
                return "number_out_of_range", f"integer {item} does not fit in 64 bits"
        elif isinstance(item, dict):
            stack.extend((key, depth + 1) for key in item.keys())
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return None


def is_int(value: Any) -> bool:
    """Whether a parsed JSON value is an integer (booleans are not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def record_meta(record: Dict[str, Any], path: Path, line: int) -> Dict[str, Any]:
    """The record's "meta" object plus its provenance ("source", "line").

    record (Dict[str, Any]): The parsed JSON record.
    path (Path): The file, for errors and provenance.
    line (int): The record's line.
    RETURNS (Dict[str, Any]): A new dict; keys the record sets win.
    RAISES (InputError): If "meta" is present but not an object ("bad_meta").
    """
    meta = record.get("meta", {})
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise InputError(
            f"'meta' must be an object, got {json_type(meta)}", path=path, line=line, reason="bad_meta"
        )
    meta = dict(meta)
    meta.setdefault("source", str(path))
    meta.setdefault("line", line)
    return meta
