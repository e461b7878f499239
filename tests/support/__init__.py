"""Reusable test helpers (loopback HTTP servers and the like); no fixtures live here."""
