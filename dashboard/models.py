"""Rollups and cached analytics read by the dashboard (filled in by the analytics work)."""
