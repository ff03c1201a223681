"""Alerts that reach people (issue 14): signed webhooks for the changes a watch concerns.

subscriptions.py loads the operator's TOML into the `subscriptions` table, signing.py is the
signature scheme (senders and receivers share it), webhooks.py turns matched changes into an
outbox of events and delivers it, in order per target, at least once, never again once a 2xx
acknowledged it.
"""
