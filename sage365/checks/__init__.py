"""Checks: pure functions of (declaration, catalogue, snapshot) -> findings."""
