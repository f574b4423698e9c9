"""Helpers shared by the unit, integration and system tests (fixtures live in tests/conftest.py)."""

from pathlib import Path

# Real response text each modem family sends, from its manual (read by the parser and fuzz tests).
TRANSCRIPTS = Path(__file__).resolve().parent / "transcripts"
