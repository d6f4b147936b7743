"""Shared leaf helpers: the project errors, seeds and random streams, progress, JSON and provenance."""
