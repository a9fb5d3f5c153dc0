"""Account erasure: users whose deletion cooling-off has passed are erased, one transaction each.

Safe to repeat and to run on several workers at once: each user's row is locked and re-checked
(erased already, or cancelled by a login) inside its own transaction, so a crash midway rolls that
user back whole and the next run erases them again from the start (services.users.deletion).
"""

from __future__ import annotations

import logging

from services.attachments.storage import storage_for
from services.auth.store import RedisLoginStore
from services.bootstrap import Resources
from services.models import utcnow
from services.users import deletion

log = logging.getLogger("linli.worker")
BATCH = 50


async def erase_deleted_accounts(resources: Resources) -> int:
    """Erase due accounts; returns how many were erased."""
    now = utcnow()
    async with resources.unit() as session:
        ids = await deletion.due_user_ids(session, now, BATCH)
    erased = 0
    for user_id in ids:
        async with resources.unit() as session:
            done = await deletion.erase_user(session, user_id, now)
            confirmed = done is not None and await deletion.is_erased(session, user_id)
        if done is None or not confirmed:
            continue
        erased += 1
        if resources.runtime.redis is not None:
            await RedisLoginStore(resources.runtime.redis).drop_otp(done.phone)
        store = storage_for(resources.runtime.settings)
        for key in done.storage_keys:  # after the commit: the rows already hide them
            try:
                await store.delete(key)
            except Exception:  # a file left behind is hidden; the erasure stands
                log.warning("erased account: photo not removed from storage", extra={"key": key})
    return erased
