"""Tests of solidarity.core.tlog."""
