"""Onboarding: bring a tenant associated by hand into Git.

`discovery` reads what a tenant holds without a declaration (through the same batch
sender as drift), `declare` turns that into a tenant declaration and its stack file,
`state` into a replayable sandbox state (optionally pseudonymised by `redact`), and
`export` runs it for one or many tenants. Nothing here prints or exits.
"""
