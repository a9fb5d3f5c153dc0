"""Notification channels and (later) the outbox."""
