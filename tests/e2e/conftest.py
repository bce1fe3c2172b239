"""Fixtures: a Launcher per test and per module; both stop every process they started."""

from collections.abc import Iterator

import pytest
from harness import SUMMARIES, Launcher


@pytest.fixture
def launcher(tmp_path) -> Iterator[Launcher]:
    started = Launcher(tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


@pytest.fixture(scope="module")
def module_launcher(tmp_path_factory, request) -> Iterator[Launcher]:
    started = Launcher(tmp_path_factory.mktemp(request.module.__name__))
    try:
        yield started
    finally:
        started.stop_all()


def pytest_terminal_summary(terminalreporter):
    if SUMMARIES:
        terminalreporter.section("suite summaries")
        for line in SUMMARIES:
            terminalreporter.write_line(line)
