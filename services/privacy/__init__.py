"""Privacy (PIPL): what neighbours see of each other, audited staff reads, personal-data exports."""

from services.privacy.labels import resident_label

__all__ = ["resident_label"]
