"""Alerting, the pure part: rules, rule types, lifecycle, grouping, silences, templates.

Nothing here reads a clock or touches a network: the agents (``agents/alerts.py``) and
the back-testing command (``logwarden rules test``) feed events, closed windows and the
event-time clock in, and route what comes out (transitions, notifications).
"""
