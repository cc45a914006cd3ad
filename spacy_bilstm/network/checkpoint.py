"""Checkpoints, so that a killed run can resume without losing or repeating a Doc.

A checkpoint is a directory holding ``manifest.json`` and parts. The local
backend writes, every N records, one part with the counts added since the
previous part (so checkpointing costs O(corpus), not O(corpus²)) and then a
new manifest naming all parts, the input position after the last record
counted, and the record report so far. Both are written atomically, part
first: a run killed between the two leaves an unlisted part, which resume
deletes, and a manifest that still matches the previous parts. The Ray
backend writes one part per completed shard; a shard with a part is done.

The manifest also stores a fingerprint of the input files (names, sizes,
modification times), the model and the extraction options; resuming with
anything different is refused, because the counts would no longer add up.
Options applied when the graph is built (minimum counts, output formats)
may change between the interrupted run and the resumed one.
"""

import json
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Union

import srsly

from ..errors import InputError
from ..io import atomic_open
from ..records import RecordReport
from .aggregate import Aggregate, Row
from .extract import DEFAULT_EVIDENCE

MANIFEST = "manifest.json"
# Local parts are "part-NNNNNN.msgpack", Ray shard parts "shard-NNNNNN.parquet".
PART_PREFIXES = ("part-", "shard-")
# 2: parts hold evidence rows. 3: and speaker evidence rows (a version 2
# part lacks them, so a resumed run would miss its documents' snippets).
FORMAT_VERSION = 3


def report_to_dict(report: RecordReport) -> Dict[str, Any]:
    """Everything in a `RecordReport`, examples included (JSON-able)."""
    return {
        "skip_invalid": report.skip_invalid,
        "read": report.read,
        "used": report.used,
        "skipped": dict(report.skipped),
        "examples": {reason: list(where) for reason, where in report.examples.items()},
    }


def report_from_dict(data: Dict[str, Any]) -> RecordReport:
    """The inverse of `report_to_dict`."""
    report = RecordReport(skip_invalid=bool(data["skip_invalid"]))
    report.read = int(data["read"])
    report.used = int(data["used"])
    report.skipped.update({k: int(v) for k, v in data["skipped"].items()})
    report.examples = {k: list(v) for k, v in data["examples"].items()}
    return report


def file_fingerprint(files: Iterable[Path]) -> List[List[Any]]:
    """Name, size and modification time of each input file."""
    result = []
    for path in files:
        stat = path.stat()
        result.append([str(path), stat.st_size, stat.st_mtime_ns])
    return result


def write_rows(path: Union[str, Path], rows: List[Row]) -> None:
    """Write rows as one msgpack file, atomically."""
    with atomic_open(path, "wb") as f:
        f.write(srsly.msgpack_dumps(rows))  # tuples pack as arrays


def read_rows(path: Union[str, Path]) -> List[Row]:
    """Read rows written by `write_rows`."""
    return [tuple(row) for row in srsly.msgpack_loads(Path(path).read_bytes())]  # type: ignore[misc]


class Checkpoint:
    """One run's checkpoint directory.

    directory (Path): Where it lives.
    fingerprint (Dict[str, Any]): What the run reads and how; must match on resume.
    state (Dict[str, Any]): The manifest: parts, position, report and extras.
    resumed (bool): Whether an earlier run's state was loaded.
    """

    def __init__(self, directory: Union[str, Path], fingerprint: Dict[str, Any]) -> None:
        self.directory = Path(directory)
        self.fingerprint = json.loads(json.dumps(fingerprint))
        self.state: Dict[str, Any] = {"parts": [], "position": None, "report": None, "extra": {}}
        self.resumed = False

    @classmethod
    def open(
        cls, directory: Union[str, Path], fingerprint: Dict[str, Any], resume: bool, restart: bool
    ) -> "Checkpoint":
        """Start a checkpoint, or load the one an interrupted run left.

        directory (Union[str, Path]): The checkpoint directory.
        fingerprint (Dict[str, Any]): The run's input, model and options.
        resume (bool): Continue from an existing checkpoint.
        restart (bool): Delete an existing checkpoint and start over.
        RAISES (InputError): If a checkpoint exists and neither flag is set, or
            if it was made for different input, model or options.
        RETURNS (Checkpoint): Ready to save to (and loaded, when resuming).
        """
        checkpoint = cls(directory, fingerprint)
        manifest = checkpoint.directory / MANIFEST
        if manifest.exists() and not restart:
            if not resume:
                raise InputError(
                    "an interrupted run left a checkpoint here: pass --resume to continue it "
                    "or --restart to start over",
                    path=checkpoint.directory,
                )
            checkpoint._load(manifest)
        else:
            # Parts without a manifest (or with --restart) cannot be trusted.
            checkpoint._clear()
        checkpoint.directory.mkdir(parents=True, exist_ok=True)
        return checkpoint

    def _own_files(self) -> List[Path]:
        if not self.directory.is_dir():
            return []
        # A leading dot marks the temporary files of `atomic_open` that a kill left.
        return [
            p for p in self.directory.iterdir() if p.name.lstrip(".").startswith(PART_PREFIXES + (MANIFEST,))
        ]

    def _clear(self) -> None:
        # Only our own files: the directory may be one the user named.
        for path in self._own_files():
            path.unlink()

    def _load(self, manifest: Path) -> None:
        try:
            data = json.loads(manifest.read_text(encoding="utf8"))
        except (OSError, ValueError) as err:
            raise InputError(f"unreadable checkpoint manifest ({err})", path=manifest) from None
        if data.get("version") != FORMAT_VERSION or data.get("fingerprint") != self.fingerprint:
            old = data.get("fingerprint") or {}
            changed = sorted(
                k for k in set(old) | set(self.fingerprint) if old.get(k) != self.fingerprint.get(k)
            )
            raise InputError(
                "this checkpoint was made for a different run (changed: "
                + ", ".join(changed or ["format version"])
                + "); pass --restart to start over",
                path=manifest,
            )
        self.state = data["state"]
        self.resumed = True
        listed = set(self.state["parts"])
        for path in self._own_files():
            if path.name.startswith(".") or (path.name.startswith("part-") and path.name not in listed):
                path.unlink()

    @property
    def position(self) -> Optional[Dict[str, Any]]:
        return self.state["position"]

    @property
    def report(self) -> Optional[RecordReport]:
        data = self.state["report"]
        return report_from_dict(data) if data is not None else None

    def load_aggregate(self, evidence: int = DEFAULT_EVIDENCE) -> Aggregate:
        """The counts saved so far (all listed parts).

        evidence (int): Snippets to keep per pair (`ExtractOptions.evidence`).
        RETURNS (Aggregate): Their sum, per-document rows on disk (``spill=True``).
        """
        aggregate = Aggregate(evidence, spill=True)
        for name in self.state["parts"]:
            aggregate.add_rows(read_rows(self.directory / name))
        return aggregate

    def save(self, delta: Aggregate, position: Dict[str, Any], report: RecordReport, **extra: Any) -> None:
        """Save the counts added since the last save, then the manifest.

        delta (Aggregate): Counts since the previous save.
        position (Dict[str, Any]): Where the input continues after them.
        report (RecordReport): The record report so far (cumulative).
        extra (Any): Further JSON-able state to keep.
        """
        name = f"part-{len(self.state['parts']) + 1:06d}.msgpack"
        write_rows(self.directory / name, delta.to_rows(sort=False))
        state = {
            "parts": self.state["parts"] + [name],
            "position": position,
            "report": report_to_dict(report),
            "extra": {**self.state["extra"], **extra},
        }
        self.write_manifest(state)

    def write_manifest(self, state: Dict[str, Any]) -> None:
        """Write the manifest with the given state, atomically."""
        with atomic_open(self.directory / MANIFEST, "w") as f:
            json.dump({"version": FORMAT_VERSION, "fingerprint": self.fingerprint, "state": state}, f)
        self.state = state

    def remove(self) -> None:
        """Delete the checkpoint (after the outputs are safely written)."""
        self._clear()
        try:
            self.directory.rmdir()
        except OSError:
            pass  # not empty: it holds files that are not ours
