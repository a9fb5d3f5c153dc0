"""Kept for callers of the first skeleton; the functions live in places.py."""

from __future__ import annotations

from services.communities.places import get_community, list_buildings

__all__ = ["get_community", "list_buildings"]
