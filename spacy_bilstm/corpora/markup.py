"""Inline entity markup: ``[surface text](LABEL)``.

The hand-annotated corpora in `corpus/` are written this way, one sentence
per line, because an annotator can read and correct it in any editor and a
diff shows exactly which entity changed. `parse_markup` turns one marked-up
line into plain text and character-offset spans; `to_markup` is its inverse.
"""
import re
from typing import Dict, Iterable, List, Pattern, Sequence, Tuple

from ..errors import InputError

CONLL_LABELS = ("PER", "LOC", "ORG", "MISC")


def markup_pattern(labels: Sequence[str] = CONLL_LABELS) -> Pattern[str]:
    """The regex of one entity, ``[surface](LABEL)``, for the given labels."""
    return re.compile(r"\[([^\[\]]+)\]\((" + "|".join(re.escape(label) for label in labels) + r")\)")


def parse_markup(text: str, labels: Sequence[str] = CONLL_LABELS) -> Tuple[str, List[Dict]]:
    """Strip inline markup from one line.

    text (str): A sentence with ``[surface](LABEL)`` markup.
    labels (Sequence[str]): The labels allowed.
    RETURNS (Tuple[str, List[Dict]]): The plain text, and its spans as
        ``{"start", "end", "label"}`` character offsets (end exclusive).
    RAISES (InputError): Markup left over after parsing: an unknown label,
        a nested or unclosed bracket, or a surface with leading or trailing
        whitespace.
    """
    plain: List[str] = []
    spans: List[Dict] = []
    pos = length = 0
    for match in markup_pattern(labels).finditer(text):
        before = text[pos : match.start()]
        surface = match.group(1)
        if surface != surface.strip():
            raise InputError(f"entity {surface!r} starts or ends with whitespace", reason="bad_markup")
        plain.append(before)
        length += len(before)
        spans.append({"start": length, "end": length + len(surface), "label": match.group(2)})
        plain.append(surface)
        length += len(surface)
        pos = match.end()
    plain.append(text[pos:])
    result = "".join(plain)
    leftover = re.search(r"\]\([A-Za-z]*\)", result)
    if leftover:
        raise InputError(
            f"markup not understood near {result[max(0, leftover.start() - 20) : leftover.end()]!r} "
            f"(labels are {', '.join(labels)}; brackets cannot nest)",
            reason="bad_markup",
        )
    return result, spans


def to_markup(text: str, spans: Iterable[Dict]) -> str:
    """Write plain text and its spans back as inline markup.

    text (str): The plain text.
    spans (Iterable[Dict]): Non-overlapping ``{"start", "end", "label"}`` spans.
    RETURNS (str): The text with ``[surface](LABEL)`` markup.
    """
    out: List[str] = []
    pos = 0
    for span in sorted(spans, key=lambda s: s["start"]):
        out.append(text[pos : span["start"]])
        out.append(f"[{text[span['start'] : span['end']]}]({span['label']})")
        pos = span["end"]
    out.append(text[pos:])
    return "".join(out)
