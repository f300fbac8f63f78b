"""Tests against software no one here wrote, started on loopback."""
