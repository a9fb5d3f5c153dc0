"""Attachments: byte-sniffed, metadata-stripped uploads behind a storage interface, served by signed URLs.

Generic over the owner (`owner_type`, `owner_id`): tickets, notices and inspections all use it. The owning
area checks access to its record, then calls `service.store_upload` / `service.list_for`.
"""
