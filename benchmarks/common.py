"""Helpers shared by the benchmark scripts: machine facts, the RESULTS.md
sections, and paths to the shared corpora."""
import datetime
import json
import os
import platform
import re
import shlex
import sys
from pathlib import Path
from typing import Iterable, List, Optional

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
WORK = ROOT / "benchmarks" / "work"


def machine_description() -> str:
    """CPU model, core count, memory and library versions, in one line."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        memory = f", {kb / 1024 ** 2:.0f} GiB RAM"
    except (OSError, AttributeError):
        pass
    import spacy
    import torch

    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; Python {platform.python_version()}, "
        f"spaCy {spacy.__version__}, torch {torch.__version__}"
    )


def today() -> str:
    return datetime.date.today().isoformat()


def command_line() -> str:
    """The command that is running, quoted so that it can be pasted into a shell."""
    return "python " + shlex.join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]])


def write_section(name: str, body: str, path: Optional[Path] = None) -> None:
    """Replace the section between `<!-- name:start -->` and `<!-- name:end -->`
    in RESULTS.md (appending it if absent), atomically.

    Text a person wrote into the section (a reading of the table, a note on
    how it was assembled) goes between `<!-- name:by-hand:start -->` and
    `<!-- name:by-hand:end -->`: those blocks are kept, in order, after the
    new body, so that rerunning the section's command never erases them.
    """
    from spacy_bilstm.io import atomic_open

    path = path or RESULTS
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = path.read_text(encoding="utf8") if path.exists() else "# Benchmark results\n"
    if start in text and end in text:
        old = text[text.index(start) : text.index(end)]
        kept = "".join(f"\n\n{block}" for block in by_hand_blocks(name, old))
        block = f"{start}\n{body.rstrip()}{kept}\n{end}"
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + f"{start}\n{body.rstrip()}\n{end}" + "\n"
    with atomic_open(path, "w") as f:
        f.write(text)


def by_hand_blocks(name: str, section: str) -> List[str]:
    """The hand-written blocks of a section, markers included, in order."""
    start, end = f"<!-- {name}:by-hand:start -->", f"<!-- {name}:by-hand:end -->"
    blocks, position = [], 0
    while start in section[position:]:
        first = section.index(start, position)
        if end not in section[first:]:
            sys.exit(f"RESULTS.md: {start} has no {end}")
        last = section.index(end, first) + len(end)
        blocks.append(section[first:last])
        position = last
    return blocks


def require_shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        sys.exit(f"{path} not found: the benchmark needs the shared corpora beside the checkout.")
    return path


def apply_overrides(config, overrides: Iterable[str]) -> None:
    """Set "dotted.path=JSON value" overrides on a config, in place (the
    `--set` option of the benchmark scripts)."""
    for override in overrides:
        key, sep, value = override.partition("=")
        if not sep:
            sys.exit(f"--set {override!r}: expected dotted.path=JSON value")
        *parents, leaf = key.split(".")
        node = config
        try:
            for part in parents:
                node = node[part]
            node[leaf] = json.loads(value)
        except KeyError as err:
            sys.exit(f"--set {override!r}: the config has no section {err}")
        except json.JSONDecodeError as err:
            sys.exit(f"--set {override!r}: the value is not JSON ({err}); quote strings, e.g. '\"chunk\"'")


def prepare_conll(work: Path, doc_sents: int = 1) -> dict:
    """Convert CoNLL-2003 with our own converter (IOB1 detected): one Doc
    per sentence, or per `doc_sents` consecutive sentences of one article."""
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    from spacy_bilstm.corpora.conll import read_conll_ner

    conll = require_shared("data", "conll2003")
    paths = {}
    for split, name in [("train", "eng.train"), ("dev", "eng.testa"), ("test", "eng.testb")]:
        out = work / (f"conll_{split}.spacy" if doc_sents == 1 else f"conll_{split}_{doc_sents}sents.spacy")
        if not out.exists():
            DocBin(docs=read_conll_ner(conll / name, Vocab(), n_sents=doc_sents)).to_disk(out)
        paths[split] = out
    return paths
