"""Pulumi entry point: one stack per customer tenant (see docs/pulumi.md)."""

from components.program import main

main()
