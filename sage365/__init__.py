"""sage365: associate customers' Microsoft 365 tenants with Sage 100, declaratively.

This package never imports pulumi: the Pulumi program in components/ imports it.
"""

__version__ = "0.1.0"
