"""Uploaded files, prepared (checked, decoded, cleaned, thumbnailed) before the request's transaction
opens: declare the dependency before the route's `AuthCtx`, so that no statement (and so no lock; on
SQLite the database's one write lock) has run yet while an image is decoded."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, File, Path, Request, UploadFile

from api.deps import bearer_claims
from services.attachments import direct
from services.attachments.inspect import DOCUMENT_TYPES, PHOTO_TYPES
from services.attachments.service import PreparedUpload, prepare_upload
from services.runtime import Runtime


async def _prepare(request: Request, file: UploadFile, allowed: frozenset[str]) -> PreparedUpload:
    runtime: Runtime = request.app.state.runtime
    bearer_claims(request, runtime.settings)  # a stranger gets 401 before any decoding
    return await prepare_upload(runtime.settings, await file.read(), file.filename, allowed)


async def _photo(request: Request, file: Annotated[UploadFile, File()]) -> PreparedUpload:
    return await _prepare(request, file, PHOTO_TYPES)


async def _document(request: Request, file: Annotated[UploadFile, File()]) -> PreparedUpload:
    return await _prepare(request, file, DOCUMENT_TYPES)


Photo = Annotated[PreparedUpload, Depends(_photo)]
Document = Annotated[PreparedUpload, Depends(_document)]


async def _direct_photo(
    request: Request,
    upload_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="upload_id from the presign")],
) -> direct.Fetched:
    runtime: Runtime = request.app.state.runtime
    bearer_claims(request, runtime.settings)  # a stranger gets 401 before anything is fetched
    return await direct.fetch(runtime.settings, upload_id)


# A direct upload's object, fetched from the bucket and prepared like a Photo, before the transaction.
DirectPhoto = Annotated[direct.Fetched, Depends(_direct_photo)]
