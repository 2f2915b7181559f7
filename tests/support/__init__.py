"""Helpers that tests of every tier import: a real NATS server, event tables, fixtures."""
