"""Outbound channels the delivery worker calls: each behind a small interface (push, SMS)."""
