"""`linli alarms-mqtt`: the MQTT door's process. Subscribes to the configured topics (QoS 1) and hands
each message to services.alarms.mqtt in its own transaction.

At least once, end to end: the session is persistent (fixed client id, clean_session off) and a
message is acknowledged (PUBACK) only after its transaction committed. If the database is away, the
message stays unacknowledged, the connection is dropped and the broker delivers it again after the
reconnect, with whatever the sensors published meanwhile. Reconnects back off exponentially (with
jitter, workers.outage) up to `mqtt_reconnect_max_seconds`, one log line when the broker goes and one
when it is back. A message that can never apply (bad topic, unknown device, malformed payload) is
acknowledged and counted, so it cannot block the ones behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import aiomqtt
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from services.alarms import mqtt
from services.bootstrap import Resources
from services.models import utcnow
from workers.outage import Outage

log = logging.getLogger("linli.alarms.mqtt")

# The database (or the network to it) failing: retry the message after a reconnect, never drop it.
RETRYABLE = (OperationalError, DBAPIError, PoolTimeout, OSError, ConnectionError)


class StoreUnavailable(Exception):
    """The message could not be stored; reconnect so the broker delivers it again."""


def make_client(resources: Resources) -> aiomqtt.Client:
    settings = resources.runtime.settings
    client = aiomqtt.Client(
        settings.mqtt_host,
        settings.mqtt_port,
        username=settings.mqtt_username,
        password=settings.mqtt_password.get_secret_value() if settings.mqtt_password else None,
        identifier=settings.mqtt_client_id,
        clean_session=False,
        keepalive=settings.mqtt_keepalive_seconds,
        timeout=10,
    )
    # aiomqtt has no option for it, paho has: PUBACK only after the commit (see the module doc).
    client._client.manual_ack_set(True)
    return client


async def handle(resources: Resources, client: aiomqtt.Client, message: aiomqtt.Message) -> mqtt.Outcome:
    try:
        async with resources.unit() as session:
            outcome = await mqtt.handle_message(session, str(message.topic), bytes(message.payload), utcnow())
    except RETRYABLE as exc:
        raise StoreUnavailable(str(exc)) from exc
    except Exception:
        # A bug on one message must not stop the door nor redeliver the message for ever.
        log.exception("mqtt message on %s failed; acknowledged and dropped", message.topic)
        mqtt.MQTT_MESSAGES.labels("failed").inc()
        outcome = mqtt.Outcome.malformed
    if message.qos > 0:
        client._client.ack(message.mid, message.qos)
    return outcome


async def _session(
    resources: Resources,
    on_message: Callable[[mqtt.Outcome], None] | None,
    broker: Outage,
    store: Outage,
) -> None:
    topics = resources.runtime.settings.mqtt_topics
    async with make_client(resources) as client:
        for topic in topics:
            await client.subscribe(topic, qos=1)
        broker.recovered()
        log.info("mqtt connected, subscribed to %s", ", ".join(topics))
        async for message in client.messages:
            outcome = await handle(resources, client, message)
            store.recovered()
            if on_message is not None:
                on_message(outcome)


async def run_mqtt(
    resources: Resources,
    stop: asyncio.Event,
    on_message: Callable[[mqtt.Outcome], None] | None = None,
) -> None:
    """Consume until `stop` is set, reconnecting after every loss of the broker or the database."""
    cap = resources.runtime.settings.mqtt_reconnect_max_seconds
    broker_outage = Outage(log, "MQTT broker", base=0.5, cap=cap)
    store_outage = Outage(log, "alarm store (the database)", base=0.5, cap=cap)
    while not stop.is_set():
        session = asyncio.create_task(
            _session(resources, on_message, broker_outage, store_outage), name="mqtt-session"
        )
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({session, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if stop.is_set():
            session.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError, StoreUnavailable):
                await session
            break
        stopping.cancel()
        try:
            session.result()
            delay = broker_outage.failed(aiomqtt.MqttError("the broker closed the message stream"))
        except aiomqtt.MqttError as exc:
            delay = broker_outage.failed(exc)
        except StoreUnavailable as exc:
            delay = store_outage.failed(exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
    log.info("mqtt door stopped")
