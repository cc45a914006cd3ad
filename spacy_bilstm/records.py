"""One policy for bad records, shared by every reader and command.

By default the first malformed record stops the run with an `InputError`
(``FILE:LINE: what is wrong``). With ``skip_invalid=True`` it is skipped and
counted by reason instead. Either way the `RecordReport` accounts for every
record: read = used + skipped.
"""
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from .errors import InputError

# How many example locations to keep per skip reason, for the summary.
MAX_EXAMPLES_PER_REASON = 3


@dataclass
class RecordReport:
    """The account of one read: what was read, used and skipped, and why.

    skip_invalid (bool): Skip malformed records instead of raising.
    """

    skip_invalid: bool = False
    read: int = 0
    used: int = 0
    skipped: Counter = field(default_factory=Counter)
    examples: Dict[str, List[str]] = field(default_factory=dict)

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())

    def invalid(self, error: InputError) -> None:
        """Deal with a malformed record: raise it, or count it when skipping.

        error (InputError): The problem, naming file and line.
        RAISES (InputError): Unless `skip_invalid` is set.
        """
        if not self.skip_invalid:
            raise error
        self.skipped[error.reason] += 1
        where = self.examples.setdefault(error.reason, [])
        if len(where) < MAX_EXAMPLES_PER_REASON:
            where.append(str(error))

    def merge(self, other: "RecordReport") -> None:
        """Add the counts of another report (e.g. from another shard)."""
        self.read += other.read
        self.used += other.used
        self.skipped.update(other.skipped)
        for reason, where in other.examples.items():
            mine = self.examples.setdefault(reason, [])
            mine.extend(where[: MAX_EXAMPLES_PER_REASON - len(mine)])

    def is_balanced(self) -> bool:
        """Whether every record read was either used or skipped."""
        return self.read == self.used + self.n_skipped

    def summary(self, what: str = "records") -> str:
        """A human-readable account, e.g. for the end of a CLI run."""
        lines = [
            f"{what} read: {self.read}, used: {self.used}, skipped: {self.n_skipped}"
        ]
        for reason, count in sorted(self.skipped.items()):
            lines.append(f"  skipped ({reason}): {count}")
            for example in self.examples.get(reason, []):
                lines.append(f"    e.g. {example}")
        return "\n".join(lines)

    def to_dict(self) -> Dict[str, object]:
        return {
            "read": self.read,
            "used": self.used,
            "skipped": self.n_skipped,
            "skipped_by_reason": dict(sorted(self.skipped.items())),
        }


def new_report(skip_invalid: bool = False, report: Optional[RecordReport] = None) -> RecordReport:
    """Return `report` if given, else a fresh one with the given policy."""
    return report if report is not None else RecordReport(skip_invalid=skip_invalid)
