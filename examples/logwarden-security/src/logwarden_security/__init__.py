"""Example logwarden plugin: password-spraying detection, a CEF parser, a rule type."""

__version__ = "0.1.0"
