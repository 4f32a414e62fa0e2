"""zcqrs: a Python client of the zcqrs CQRS event backbone (protocol ZCQ1)."""
