"""Shared fixtures and the `--slow` switch.

Slow tests (whole workflows, real corpora, Ray clusters) are skipped unless
pytest runs with `--slow`.
"""
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", default=False, help="run slow tests")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--slow"):
        return
    skip_slow = pytest.mark.skip(reason="slow: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared data folder beside the checkout; tests skip without it."""
    if not SHARED.exists():
        pytest.skip(f"{SHARED} is not available")
    return SHARED


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def one_torch_thread():
    """torch on one intra-op thread for the test, restored afterwards.

    Not for the whole suite: a user's process runs torch's default pool, and
    the fork and invariance tests must see that (a suite-wide pin once hid a
    deadlock in `nlp.pipe(n_process=2)`). Use it where a test trains long
    enough for an oversubscribed pool to slow it down.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
