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


def iter_jsonl(
    path: Union[str, Path], encoding: Optional[str] = None
) -> Iterator[Tuple[int, Union[Dict[str, Any], InputError]]]:
    """Stream the records of a JSONL file.

    path (Union[str, Path]): The file.
    encoding (Optional[str]): As for `iter_lines`.
    YIELDS (Tuple[int, Union[Dict[str, Any], InputError]]): (line number,
        the object or the problem) per non-blank line. Problems: bad bytes, "invalid_json", "not_object",
        "invalid_unicode" (a lone surrogate from a \\uD800-style escape, which
        could never be written to a DocBin).
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
        if not isinstance(value, dict):
            yield line.number, InputError(
                f"expected a JSON object, got {json_type(value)}",
                path=path,
                line=line.number,
                reason="not_object",
            )
            continue
        if has_lone_surrogate(value):
            yield line.number, InputError(
                "a string holds a lone surrogate escape (e.g. \\ud800), which is not valid Unicode",
                path=path,
                line=line.number,
                reason="invalid_unicode",
            )
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


def has_lone_surrogate(value: Any) -> bool:
    """Whether any string (or object key) inside a parsed JSON value has a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


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
