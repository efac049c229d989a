"""`chappe up` runs one gateway per core on PostgreSQL (they share the queue through
SKIP LOCKED), one on SQLite; CHAPPE_GATEWAYS decides otherwise."""

import os

from django.db import connection

from chappe.runtime.cli import default_gateways


def test_one_gateway_per_core_on_postgresql(monkeypatch):
    monkeypatch.delenv("CHAPPE_GATEWAYS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    assert default_gateways() == (4 if connection.vendor == "postgresql" else 1)
    monkeypatch.setenv("CHAPPE_GATEWAYS", "3")
    assert default_gateways() == 3
