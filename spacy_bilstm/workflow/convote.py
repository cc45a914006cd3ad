"""Build the ConVote stage-three TSV that `read_convote` reads from the
original archive (``convote_v1.1.tar.gz``, Thomas, Pang & Lee 2006).

Each speech segment of ``data_stage_three/{training,development,test}_set``
is one file named ``BBB_SSSSSS_PPPPNNN_XMV.txt``: bill (debate), speaker,
page and position in the Congressional Record, party (D/R/I or X), whether
the bill is mentioned (M/O) and the vote (Y/N). The TSV has one row per file
with those fields decoded and the file's text, whose line breaks and tabs
become spaces so that a row stays one line.
"""
import re
import tarfile
from pathlib import Path
from typing import Dict, Iterator, Union

from ..errors import InputError
from ..io import atomic_open
from ..corpora.textcat_sources import CONVOTE_COLUMNS

NAME = re.compile(r"^(\d{3})_(\d{6})_(\d{4})(\d{3})_([A-Z])([MO])([YN])\.txt$")
SPLITS = {"training_set": "training", "development_set": "development", "test_set": "test"}


def iter_convote_archive(archive: Union[str, Path]) -> Iterator[Dict[str, str]]:
    """Read the stage-three speech files of a ConVote archive, in name order.

    archive (Union[str, Path]): convote_v1.1.tar.gz (or any tar holding
        ``data_stage_three/<split>_set/*.txt``).
    YIELDS (Dict[str, str]): One row per file, keyed by `CONVOTE_COLUMNS`.
    RAISES (InputError): If the archive is missing or unreadable, a file
        name does not follow the scheme, or a file is not UTF-8.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise InputError("ConVote archive not found", path=archive, reason="missing_file")
    try:
        with tarfile.open(archive) as tar:
            members = []
            for member in tar.getmembers():
                parts = Path(member.name).parts
                if member.isfile() and len(parts) >= 3 and parts[-3] == "data_stage_three" and parts[-2] in SPLITS:
                    members.append(member)
            if not members:
                raise InputError(
                    "no data_stage_three/*_set/*.txt files: not the ConVote archive?",
                    path=archive,
                    reason="bad_archive",
                )
            for member in sorted(members, key=lambda m: (list(SPLITS).index(Path(m.name).parts[-2]), m.name)):
                name = Path(member.name).name
                match = NAME.match(name)
                if match is None:
                    raise InputError(
                        f"{member.name}: file name does not follow BBB_SSSSSS_PPPPNNN_XMV.txt",
                        path=archive,
                        reason="bad_name",
                    )
                handle = tar.extractfile(member)
                raw = handle.read() if handle is not None else b""
                try:
                    text = raw.decode("utf8")
                except UnicodeDecodeError:
                    raise InputError(f"{member.name}: not UTF-8", path=archive, reason="bad_encoding") from None
                bill, speaker, page, position, party, mention, vote = match.groups()
                yield {
                    "split": SPLITS[Path(member.name).parts[-2]],
                    "file": name,
                    "bill": bill,
                    "speaker": speaker,
                    "page": page,
                    "position": position,
                    "party": party,
                    "mention": mention,
                    "vote": vote,
                    "text": " ".join(text.replace("\t", " ").splitlines()),
                }
    except (tarfile.TarError, OSError, EOFError) as err:
        raise InputError(f"cannot read the archive: {err}", path=archive, reason="bad_archive") from None


def write_convote_tsv(archive: Union[str, Path], output: Union[str, Path]) -> Dict[str, int]:
    """Write the TSV (atomically) from the archive.

    archive (Union[str, Path]): convote_v1.1.tar.gz.
    output (Union[str, Path]): The TSV to write.
    RETURNS (Dict[str, int]): Rows written per split.
    """
    counts: Dict[str, int] = {}
    with atomic_open(output, "w", newline="") as f:
        f.write("\t".join(CONVOTE_COLUMNS) + "\n")
        for row in iter_convote_archive(archive):
            f.write("\t".join(row[column] for column in CONVOTE_COLUMNS) + "\n")
            counts[row["split"]] = counts.get(row["split"], 0) + 1
    return counts
