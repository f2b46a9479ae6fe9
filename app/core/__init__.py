"""The pure domain of logwarden: no I/O, no framework imports, no clock reads.

Time is always a parameter. Everything here is importable and testable without a
network, a broker or an event loop.
"""
