"""Core-test hooks: the IBSI reference comparison prints its pass counts in pytest's closing summary."""

from __future__ import annotations

IBSI_REPORT: list[str] = []


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001 - pytest hook signature
    if IBSI_REPORT:
        terminalreporter.section("IBSI reference values: pass counts per configuration and family")
        for line in IBSI_REPORT:
            terminalreporter.write_line(line)
