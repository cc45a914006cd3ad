"""benchmarks/common.write_section: rerunning a benchmark replaces its
section of RESULTS.md but keeps what a person wrote into it."""
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def common():
    sys.path.insert(0, str(BENCHMARKS))
    import common as module

    return module


def test_rewriting_a_section_keeps_its_hand_written_blocks(common, tmp_path):
    path = tmp_path / "RESULTS.md"
    path.write_text(
        "# Benchmark results\n\n<!-- other:start -->\nother\n<!-- other:end -->\n\n"
        "<!-- ner:start -->\n| old table |\n\n"
        "<!-- ner:by-hand:start -->\n**Reading it.** first note\n<!-- ner:by-hand:end -->\n"
        "| more old output |\n"
        "<!-- ner:by-hand:start -->\nsecond note\n<!-- ner:by-hand:end -->\n<!-- ner:end -->\n",
        encoding="utf8",
    )
    common.write_section("ner", "| new table |", path)
    text = path.read_text(encoding="utf8")
    assert "old table" not in text and "more old output" not in text
    section = text[text.index("<!-- ner:start -->"):]
    assert section.index("| new table |") < section.index("first note") < section.index("second note")
    assert "<!-- other:start -->\nother\n<!-- other:end -->" in text
    # A second rewrite keeps the blocks once, not twice.
    common.write_section("ner", "| newer table |", path)
    assert path.read_text(encoding="utf8").count("first note") == 1


def test_a_new_section_is_appended(common, tmp_path):
    path = tmp_path / "RESULTS.md"
    common.write_section("fresh", "| table |", path)
    assert path.read_text(encoding="utf8").endswith("<!-- fresh:start -->\n| table |\n<!-- fresh:end -->\n")
