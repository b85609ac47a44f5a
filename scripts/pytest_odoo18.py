"""pytest plugin for the add-on's test run (``make test`` loads it with ``-p``).

pytest-odoo runs Odoo's test cases under pytest but, with Odoo 18.0, leaves out
parts of what Odoo's own test runner does. This plugin puts them back:

* ``odoo.modules.module.current_test`` is the running test case, as Odoo's test
  suite sets it (pytest-odoo does so only for Odoo >= 19). Odoo 18.0 relies on it
  in HttpCase's test cursor checks, and code that must not commit under a test
  tests it;
* a test during which Odoo logs an ERROR (or CRITICAL) fails, with the log lines;
* a WARNING logged by Odoo during a test shows in pytest's warnings summary.

Log lines a test expects are silenced in the test itself, with
``odoo.tools.mute_logger(...)`` or ``self.assertLogs(...)``.

It also imports ``odoo.tests`` in test mode before pytest-odoo imports it outside
test mode, which would make Odoo log a misleading "Importing test framework" error.
"""

import logging
import unittest

import pytest


def _import_odoo_tests_in_test_mode():
    from odoo.tools import config

    saved = config["test_enable"]
    config["test_enable"] = True
    try:
        import odoo.tests  # noqa: F401
    finally:
        config["test_enable"] = saved


_import_odoo_tests_in_test_mode()


class OdooLogWarning(UserWarning):
    """A WARNING that Odoo logged during a test."""


class _RecordCollector(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(record)


_collector = _RecordCollector()
_formatter = logging.Formatter("%(levelname)s %(name)s: %(message)s")


def pytest_configure(config):
    logging.getLogger("odoo").addHandler(_collector)


def pytest_unconfigure(config):
    logging.getLogger("odoo").removeHandler(_collector)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    from odoo.modules import module

    instance = getattr(item, "instance", None)
    module.current_test = instance if isinstance(instance, unittest.TestCase) else True


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield
    from odoo.modules import module

    module.current_test = False


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    records, _collector.records = _collector.records, []
    errors = [r for r in records if r.levelno >= logging.ERROR]
    for record in records:
        if record.levelno < logging.ERROR:
            item.warn(OdooLogWarning(_formatter.format(record)))
    if errors and report.passed:
        report.outcome = "failed"
        lines = "\n".join(_formatter.format(r) for r in errors)
        report.longrepr = (
            f"Odoo logged {len(errors)} error(s) during {call.when}:\n{lines}"
        )
