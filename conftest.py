"""Shared pytest set-up. With TRACKER_REQUIRE_ALL=1 (set by .ci/run) a skipped test fails:
CI installs and starts every service and the browser, so nothing may quietly not run."""

import os

import pytest

REQUIRE_ALL = os.environ.get("TRACKER_REQUIRE_ALL") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_ALL and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"Skipped under TRACKER_REQUIRE_ALL=1 (CI must run everything): {reason}"
