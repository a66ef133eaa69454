"""Shared test helpers (paths, servers on loopback)."""
