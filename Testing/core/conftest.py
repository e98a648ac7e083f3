"""Core-test hooks: the IBSI reference comparison prints its pass counts in pytest's closing summary."""

from __future__ import annotations


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    lines = getattr(config, "ibsi_report", None)
    if lines:
        terminalreporter.section("IBSI reference values: pass counts per configuration and family")
        for line in lines:
            terminalreporter.write_line(line)
