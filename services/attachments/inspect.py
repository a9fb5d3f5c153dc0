"""What a file is, from its bytes alone: names, extensions and the client's Content-Type are ignored."""

from __future__ import annotations

JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
HEIC = "image/heic"
HEIF = "image/heif"
PDF = "application/pdf"

PHOTO_TYPES: frozenset[str] = frozenset({JPEG, PNG, WEBP, HEIC, HEIF})
DOCUMENT_TYPES: frozenset[str] = PHOTO_TYPES | {PDF}

EXTENSIONS = {JPEG: "jpg", PNG: "png", WEBP: "webp", HEIC: "heic", HEIF: "heif", PDF: "pdf"}

# ISO BMFF `ftyp` brands. HEVC-coded HEIF is "HEIC"; mif1/msf1 are the generic HEIF structure brands
# (an AVIF file also lists mif1 among its compatible brands, but its major brand is avif: refused).
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})


def sniff(data: bytes) -> str | None:
    """The MIME type of JPEG, PNG, WebP, HEIC/HEIF or PDF bytes; None for anything else."""
    if data[:3] == b"\xff\xd8\xff":
        return JPEG
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return PNG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data[:5] == b"%PDF-":
        return PDF
    return _sniff_heif(data)


def _sniff_heif(data: bytes) -> str | None:
    # Box: 4-byte big-endian size, b"ftyp", major brand, minor version, compatible brands...
    if len(data) < 16 or data[4:8] != b"ftyp":
        return None
    size = int.from_bytes(data[:4], "big")
    if size < 16 or size > len(data) or size > 4096 or size % 4:
        return None
    major = data[8:12]
    compatible = {data[i : i + 4] for i in range(16, size, 4)}
    if major in _HEIC_BRANDS:
        return HEIC
    if major in _HEIF_BRANDS:
        return HEIC if compatible & _HEIC_BRANDS else HEIF
    return None
