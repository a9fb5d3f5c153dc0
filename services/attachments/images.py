"""Decode, clean and thumbnail an uploaded image. Synchronous and CPU-bound: call it in a thread.

Cleaning means re-encoding the pixels only: every metadata block (EXIF with its GPS IFD, XMP, PNG text
chunks, comments) is dropped; the EXIF orientation is applied to the pixels first so nothing turns
sideways. Only the ICC colour profile is kept. HEIC/HEIF is decoded with pillow-heif and stored as JPEG,
which every phone and browser image loader can show.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from services.attachments.inspect import HEIC, HEIF, JPEG, PNG, WEBP

try:
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - depends on the installation
    HEIF_SUPPORTED = False

# The sizes served besides the original (long side, px; never upscaled), all JPEG: `thumb` for lists
# and grids, `medium` for a detail screen on 4G (a 12-megapixel photo of 3-5 MB becomes ~150-300 kB).
THUMB_MAX_PX = 320
MEDIUM_MAX_PX = 1080
THUMB_CONTENT_TYPE = JPEG

# Sniffed type -> (Pillow decoder, Pillow encoder and content type we store).
_DECODERS = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP", HEIC: "HEIF", HEIF: "HEIF"}
_STORED_AS = {JPEG: JPEG, PNG: PNG, WEBP: WEBP, HEIC: JPEG, HEIF: JPEG}
_ENCODERS = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP"}


class UnreadableImage(ValueError):
    """The bytes claim an image format but do not decode as one."""


class TooManyPixels(ValueError):
    """Width × height over the limit (a decompression bomb or an absurd photo)."""


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    content_type: str
    width: int
    height: int
    thumb: bytes
    medium: bytes


def supported(content_type: str) -> bool:
    if content_type in (HEIC, HEIF):
        return HEIF_SUPPORTED
    return content_type in _DECODERS


def clean_image(data: bytes, content_type: str, *, max_pixels: int) -> CleanImage:
    """Re-encode `data` (already sniffed as `content_type`) without metadata, plus a JPEG thumbnail."""
    image = _decode(data, content_type, max_pixels)
    stored_as = _STORED_AS[content_type]
    icc = image.info.get("icc_profile")
    image = ImageOps.exif_transpose(image)
    if image.mode in ("P", "PA") or "transparency" in image.info:
        image = image.convert("RGBA")  # palette transparency lives in info, which is dropped next
    image.info = {}  # drop exif, xmp, comments and text chunks: the encoders below get only pixels
    original = _encode(image, stored_as, icc)
    return CleanImage(
        original,
        stored_as,
        image.width,
        image.height,
        _thumbnail(image, THUMB_MAX_PX, 80),
        _thumbnail(image, MEDIUM_MAX_PX, 82),
    )


def _decode(data: bytes, content_type: str, max_pixels: int) -> Image.Image:
    decoder = _DECODERS[content_type]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Only the decoder for the sniffed type may run: a file cannot choose another parser.
            image = Image.open(io.BytesIO(data), formats=[decoder])
            width, height = image.size
            if width < 1 or height < 1:
                raise UnreadableImage("empty image")
            if width * height > max_pixels:
                raise TooManyPixels(f"{width}x{height}")
            image.seek(0)  # animated WebP / APNG: the first frame only
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooManyPixels(str(exc)) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
        if isinstance(exc, TooManyPixels | UnreadableImage):
            raise
        raise UnreadableImage(str(exc)) from exc
    return image


def _encode(image: Image.Image, content_type: str, icc: bytes | None) -> bytes:
    out = io.BytesIO()
    encoder = _ENCODERS[content_type]
    extra: dict[str, object] = {"icc_profile": icc} if icc else {}
    if encoder == "JPEG":
        if image.mode not in ("RGB", "L", "CMYK"):
            image = _flatten(image)
        image.save(out, format="JPEG", quality=90, optimize=True, **extra)
    elif encoder == "PNG":
        image.save(out, format="PNG", optimize=False, **extra)
    else:
        image.save(out, format="WEBP", quality=90, method=4, **extra)
    return out.getvalue()


def _thumbnail(image: Image.Image, max_px: int, quality: int) -> bytes:
    thumb = _flatten(image) if image.mode != "RGB" else image.copy()
    thumb.thumbnail((max_px, max_px), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    thumb.save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue()


def _flatten(image: Image.Image) -> Image.Image:
    """RGB on white, for encoders without alpha (JPEG)."""
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")
