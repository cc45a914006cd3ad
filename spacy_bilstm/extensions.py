"""Custom attributes the components read and write on `Doc` and `Span`.

`install_extensions` is idempotent and is called by every component factory
and reader, so users never have to call it themselves.
"""
from typing import Dict, Optional

from spacy.tokens import Doc, Span

STANCE_TARGET = "stance_target"
META = "meta"
ENT_CONFIDENCES = "ent_confidences"
CONFIDENCE = "confidence"


def _span_confidence(span: Span) -> Optional[float]:
    """The marginal probability a tagger gave this entity, if any."""
    scores: Optional[Dict[str, float]] = span.doc._.get(ENT_CONFIDENCES)
    if not scores:
        return None
    return scores.get(confidence_key(span.start, span.end, span.label_))


def confidence_key(start: int, end: int, label: str) -> str:
    """The key of an entity in `Doc._.ent_confidences`: "start:end:label".

    A string rather than a tuple, because DocBin's msgpack turns tuple keys
    into lists, which cannot be dict keys when the doc is read back.
    """
    return f"{start}:{end}:{label}"


def install_extensions() -> None:
    """Register `Doc._.stance_target`, `Doc._.meta`, `Doc._.ent_confidences`
    and `Span._.confidence` (once; later calls do nothing)."""
    if not Doc.has_extension(STANCE_TARGET):
        Doc.set_extension(STANCE_TARGET, default=None)
    if not Doc.has_extension(META):
        Doc.set_extension(META, default=None)
    if not Doc.has_extension(ENT_CONFIDENCES):
        Doc.set_extension(ENT_CONFIDENCES, default=None)
    if not Span.has_extension(CONFIDENCE):
        Span.set_extension(CONFIDENCE, getter=_span_confidence)
