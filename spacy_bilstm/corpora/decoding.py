"""Decoding input files into numbered lines, robustly and as a stream.

Every reader in `spacy_bilstm.corpora` gets its text through `iter_lines`, so
they all treat encodings, line endings and broken bytes the same way:

* A byte-order mark decides the encoding (UTF-8, UTF-16 or UTF-32) and is
  removed; without one the file is UTF-8 unless `encoding` says otherwise.
* CRLF, LF and CR all end a line (Python's universal newlines).
* A line with a NUL character or bytes that do not decode is not an exception
  in the middle of a read: it comes back as a `Line` with an `error`, so the
  reader can treat the record it belongs to as malformed (raise, or skip and
  count it under ``skip_invalid``) and go on with the next one.
* An empty or whitespace-only file is an `InputError` ("empty file, no
  records"), as are a missing file, a directory and an unknown encoding.

Lines are read one at a time (no length limit), so a 5 MB line or a large
corpus never has to fit in memory as a whole.
"""
import codecs
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator, Optional, Tuple, Union

from ..errors import InputError

# Undecodable bytes are replaced by a lone surrogate, which no strict decoder
# (UTF-8/16/32, cp1252, latin-1 ...) ever produces for valid input; finding
# one in a decoded line therefore means "this line had bad bytes".
# `surrogateescape` cannot be used: it refuses UTF-16 errors and ASCII bytes.
_UNDECODABLE = "\udc00"
_ERROR_HANDLER = "spacy_bilstm.mark_undecodable"
_SURROGATE = re.compile("[\ud800-\udfff]")
_REPLACEMENT = "\ufffd"

# UTF-32 LE starts with the UTF-16 LE mark, so it must be tested first.
_BOMS: Tuple[Tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _mark_undecodable(error: UnicodeError) -> Tuple[str, int]:
    if isinstance(error, UnicodeDecodeError):
        return _UNDECODABLE, error.end
    raise error


codecs.register_error(_ERROR_HANDLER, _mark_undecodable)


@dataclass(frozen=True)
class Line:
    """One decoded line of an input file.

    number (int): The 1-based line number, as an editor shows it.
    text (str): The line without its line ending (with it when the file was
        opened for the csv module). On a bad line, NULs and undecodable bytes
        are replaced by U+FFFD so the text is safe to pass on.
    error (Optional[InputError]): Why the line is malformed, or None.
    """

    number: int
    text: str
    error: Optional[InputError] = None


def detect_encoding(head: bytes, encoding: Optional[str] = None) -> str:
    """Choose the codec for a file from its first bytes.

    A byte-order mark wins over `encoding`: it is near-certain evidence, and a
    wrong explicit encoding would otherwise turn UTF-16 into NUL-ridden text.

    head (bytes): The first (up to 4) bytes of the file.
    encoding (Optional[str]): The encoding to use when there is no BOM;
        None means UTF-8.
    RETURNS (str): A Python codec name.
    """
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec
    return encoding if encoding is not None else "utf-8"


def _codec_reason(codec: str) -> str:
    name = codecs.lookup(codec).name
    return "invalid_utf8" if name in ("utf-8", "utf-8-sig") else "invalid_encoding"


def _open_binary(path: Path) -> IO[bytes]:
    if not path.exists():
        raise InputError("file not found", path=path, reason="missing_file")
    if not path.is_file():
        raise InputError("not a file", path=path, reason="not_a_file")
    try:
        return open(path, "rb")
    except OSError as err:
        raise InputError(f"cannot open file: {err.strerror}", path=path, reason="unreadable") from None


def _check_encoding(path: Path, encoding: Optional[str]) -> None:
    if encoding is None:
        return
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputError(f"unknown encoding '{encoding}'", path=path, reason="bad_argument") from None


def _line_error(path: Path, number: int, text: str, codec: str) -> Optional[InputError]:
    bad = _SURROGATE.search(text)
    if bad is not None:
        name = codecs.lookup(codec).name
        return InputError(
            f"line is not valid {name} (undecodable bytes at character {bad.start() + 1}); "
            "pass the file's encoding if it is not UTF-8",
            path=path,
            line=number,
            reason=_codec_reason(codec),
        )
    nul = text.find("\x00")
    if nul >= 0:
        return InputError(
            f"NUL byte at character {nul + 1} (a binary file, or UTF-16 without a byte-order mark?)",
            path=path,
            line=number,
            reason="nul_byte",
        )
    return None


def iter_lines(
    path: Union[str, Path],
    encoding: Optional[str] = None,
    *,
    keep_ends: bool = False,
) -> Iterator[Line]:
    """Stream the lines of a text file, decoded, numbered and checked.

    path (Union[str, Path]): The file to read.
    encoding (Optional[str]): The encoding when the file has no byte-order
        mark (default UTF-8). With an explicit encoding, bytes it cannot
        decode are reported with reason "invalid_encoding" instead of
        "invalid_utf8".
    keep_ends (bool): Keep the line endings unchanged, as the csv module
        needs them (``newline=''``); otherwise every ending is removed.
    YIELDS (Line): Every line of the file, including blank ones.
    RAISES (InputError): If the file is missing, unreadable, empty or
        whitespace-only, or the encoding is unknown. Bad lines are not raised
        but yielded with `Line.error` set.
    """
    path = Path(path)
    _check_encoding(path, encoding)
    binary = _open_binary(path)
    with binary:
        try:
            head = binary.read(4)
            binary.seek(0)
        except OSError as err:
            raise InputError(f"cannot read file: {err.strerror}", path=path, reason="unreadable") from None
        codec = detect_encoding(head, encoding)
        text_stream = io.TextIOWrapper(
            binary, encoding=codec, errors=_ERROR_HANDLER, newline="" if keep_ends else None
        )
        has_content = False
        number = 0
        try:
            for number, raw in enumerate(text_stream, start=1):
                text = raw if keep_ends else raw.rstrip("\n")
                if not has_content and raw.strip():
                    has_content = True
                error = _line_error(path, number, text, codec)
                if error is not None:
                    text = _SURROGATE.sub(_REPLACEMENT, text).replace("\x00", _REPLACEMENT)
                yield Line(number, text, error)
        except OSError as err:
            raise InputError(
                f"cannot read file: {err.strerror}", path=path, line=number + 1, reason="unreadable"
            ) from None
        finally:
            text_stream.detach()
    if not has_content:
        raise InputError("empty file, no records", path=path, reason="empty_file")


def first_content_line(path: Union[str, Path], encoding: Optional[str] = None) -> str:
    """The first non-blank line of a file, for sniffing its format.

    Undecodable bytes are tolerated here (replaced): the real read reports them.

    path (Union[str, Path]): The file.
    encoding (Optional[str]): As for `iter_lines`.
    RETURNS (str): The first line that is not whitespace-only, or "".
    """
    for line in iter_lines(path, encoding):
        if line.text.strip():
            return line.text
    return ""
