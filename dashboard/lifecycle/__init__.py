"""Flaky-test lifecycle: per-test states, their history, detector policy and signals.

Models live in ``dashboard.lifecycle.models`` (imported by ``dashboard.models``);
writes go through ``dashboard.services.quarantine`` and ``dashboard.derive.detect``.
"""
