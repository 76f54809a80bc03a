"""Outgoing webhooks: each subscription gets its timeline's changes, signed per Standard Webhooks, in seq
order, at least once, retried with backoff, resumed from its cursor after any crash.

The deliverer runs in the poller processes and sends through `feeds.deliver` (the SSRF-guarded network);
the store keeps the subscriptions, their cursors and leases.
"""

from timeline.webhooks.deliverer import Deliverer, DelivererSettings

__all__ = ["Deliverer", "DelivererSettings"]
