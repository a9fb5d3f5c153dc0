"""The `linli` command: serve, worker, migrate, seed-demo, demo and admin helpers."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from services import migrations
from services.config import get_settings
from services.logs import configure as configure_logs

cli = typer.Typer(
    help="Linli 邻里 — smart property management API", no_args_is_help=True, add_completion=False
)


def _serve(host: str | None, port: int | None, embedded_worker: bool) -> None:
    import uvicorn

    from api.main import create_app

    settings = get_settings().model_copy(update={"embedded_worker": embedded_worker})
    configure_logs(settings.json_logs)
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        proxy_headers=settings.trust_forwarded,
    )


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default LINLI_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="Default LINLI_PORT")] = None,
) -> None:
    """Serve the HTTP API (with the in-process worker when LINLI_EMBEDDED_WORKER is true)."""
    _serve(host, port, get_settings().embedded_worker)


def _run_process(name: str) -> None:
    from services.bootstrap import build_resources
    from workers.broker import make_broker
    from workers.metrics import serve_metrics
    from workers.runner import run_scheduler, run_worker

    settings = get_settings()
    configure_logs(settings.json_logs)
    serve_metrics(settings)  # metrics + liveness for compose's healthcheck (LINLI_METRICS_PORT)

    async def main() -> None:
        resources = build_resources(settings)
        broker = make_broker(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            if name == "worker":
                await run_worker(resources, broker, stop)
            else:
                await broker.startup()
                try:
                    await run_scheduler(resources, broker, stop)
                finally:
                    await broker.shutdown()
        finally:
            await resources.close()

    try:
        import uvloop  # uvicorn[standard] brings it: ~30% less CPU per push through httpx/h2
    except ImportError:  # pragma: no cover
        asyncio.run(main())
    else:
        uvloop.run(main())


@cli.command()
def worker() -> None:
    """Send notifications: consume delivery wake-ups from the broker until SIGINT/SIGTERM."""
    _run_process("worker")


@cli.command()
def scheduler() -> None:
    """Run periodic jobs and the delivery sweeper (run exactly one)."""
    _run_process("scheduler")


@cli.command("alarms-mqtt")
def alarms_mqtt() -> None:
    """The MQTT door for IoT sensors: subscribe to LINLI_MQTT_TOPICS and raise / clear alarms."""
    from services.bootstrap import build_resources
    from workers.alarms_mqtt import run_mqtt
    from workers.embedded import background
    from workers.metrics import serve_metrics

    settings = get_settings()
    configure_logs(settings.json_logs)
    serve_metrics(settings)

    async def main() -> None:
        resources = build_resources(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            # The relay to the broker (with Redis): an alarm's notifications go out at once, not
            # after the scheduler's next sweep.
            async with background(resources, embedded=False):
                await run_mqtt(resources, stop)
        finally:
            await resources.close()

    asyncio.run(main())


@cli.command("simulate-devices")
def simulate_devices(
    community_id: Annotated[int, typer.Option(help="Whose cameras and sensors (read from the database)")],
    url: Annotated[str, typer.Option(help="Linli's base URL")] = "http://127.0.0.1:8000",
    rate: Annotated[float, typer.Option(help="Events per second")] = 2.0,
    duration: Annotated[float, typer.Option(help="Seconds")] = 30.0,
    mqtt_host: Annotated[
        str | None, typer.Option(help="Publish sensor readings here (else webhooks)")
    ] = None,
    mqtt_port: Annotated[int, typer.Option()] = 1883,
    auth: Annotated[str, typer.Option(help="Camera auth: token (in the URL) or digest")] = "token",
) -> None:
    """Play a community's cameras (ISAPI XML / JSON / multipart with a JPEG) and sensors (signed
    webhooks, MQTT readings) against a running Linli at RATE events per second; prints a summary."""
    from services.alarms.simulator import load_devices, run_simulation
    from services.db import create_engine, session_factory

    settings = get_settings()

    async def main() -> dict[str, Any]:
        engine = create_engine(settings.database_url)
        try:
            async with session_factory(engine)() as session:
                devices = await load_devices(session, community_id, settings)
        finally:
            await engine.dispose()
        if not devices:
            raise typer.BadParameter(f"community {community_id} has no devices")
        report = await run_simulation(
            devices, url.rstrip("/"), rate, duration, mqtt_host=mqtt_host, mqtt_port=mqtt_port, auth=auth
        )
        return {"devices": len(devices), **report.summary()}

    typer.echo(orjson.dumps(asyncio.run(main()), option=orjson.OPT_INDENT_2).decode())


@cli.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "heads",
    down: Annotated[bool, typer.Option("--down", help="Downgrade to REVISION (e.g. base)")] = False,
) -> None:
    """Upgrade (or downgrade) the database schema with Alembic."""
    if down:
        migrations.downgrade(revision=revision)
    else:
        migrations.upgrade(revision=revision)
    typer.echo(f"database at {'down to ' if down else ''}{revision}: {_safe_url()}")


def _safe_url() -> str:
    from sqlalchemy.engine import make_url

    return make_url(get_settings().database_url).render_as_string(hide_password=True)


@cli.command()
def doctor() -> None:
    """Which push channels are live (FCM, JPush, APNs) and which fall back to the in-app inbox."""
    from workers.channels.registry import doctor_report

    settings = get_settings()
    report = asyncio.run(doctor_report(settings))
    out = {"push": report, "sms": settings.sms_provider, "database": _safe_url()}
    sys.stdout.write(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode() + "\n")


@cli.command("seed-demo")
def seed_demo(
    as_json: Annotated[bool, typer.Option("--json", help="Print the accounts as JSON")] = False,
) -> None:
    """Create the demo community (idempotent) and print its accounts."""
    from services.demo import DemoRefused, print_accounts, seed

    try:
        accounts = asyncio.run(seed(get_settings()))
    except DemoRefused as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if as_json:
        sys.stdout.write(orjson.dumps(accounts, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print_accounts(accounts, get_settings())


@cli.command()
def demo() -> None:
    """Migrate, seed the demo community and serve with the in-process worker."""
    from services.demo import print_accounts, seed

    settings = get_settings()
    migrations.upgrade()
    accounts = asyncio.run(seed(settings))
    print_accounts(accounts, settings)
    _serve(None, None, True)


@cli.command("import-households")
def import_households(
    community_id: Annotated[int, typer.Argument()],
    csv_path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
) -> None:
    """Import households from CSV (building,entrance,room,area_m2); all rows or none."""
    from services.communities.cli import import_households_file

    _fail_on_domain_error(lambda: asyncio.run(import_households_file(get_settings(), community_id, csv_path)))


def _fail_on_domain_error(run: Callable[[], dict[str, Any]]) -> None:
    """Print the result as JSON, or an expected error as its code and message, exit status 1."""
    from services.errors import DomainError
    from services.i18n import message

    try:
        result = run()
    except DomainError as exc:
        error = {"code": exc.code, "message": message(exc.code, "en"), "details": exc.details}
        typer.echo(orjson.dumps({"error": error}).decode(), err=True)
        raise typer.Exit(1) from None
    typer.echo(orjson.dumps(result).decode())


@cli.command("create-community")
def create_community(
    name: Annotated[str, typer.Argument(help="Community name (小区名称), unique")],
    address: Annotated[str, typer.Option(help="Street address")],
    district: Annotated[str | None, typer.Option(help="District / street office")] = None,
    built_year: Annotated[int | None, typer.Option(help="Year built")] = None,
    time_zone: Annotated[str, typer.Option(help="IANA time zone")] = "Asia/Shanghai",
) -> None:
    """Create a community (trusted operator; audited with no actor)."""
    from services.communities.cli import create_community as run
    from services.communities.schemas import CommunityCreate

    try:
        body = CommunityCreate(
            name=name, address=address, district=district, built_year=built_year, time_zone=time_zone
        )
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    _fail_on_domain_error(lambda: asyncio.run(run(get_settings(), body)))


@cli.command("create-admin")
def create_admin(
    phone: Annotated[str, typer.Argument(help="Mainland mobile number")],
    name: Annotated[str, typer.Option(help="Display name")],
    password: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="At least 10 characters"),
    ],
    community_id: Annotated[
        int | None, typer.Option(help="Make a community admin here; without it a platform admin")
    ] = None,
) -> None:
    """Create (or reset the password of) a platform admin, or a community admin with --community-id."""
    from services.communities.cli import create_admin as run

    _fail_on_domain_error(lambda: asyncio.run(run(get_settings(), phone, name, password, community_id)))


kpis_cli = typer.Typer(help="KPI jobs", no_args_is_help=True)
cli.add_typer(kpis_cli, name="kpis")


@kpis_cli.command("rollup")
def kpis_rollup() -> None:
    """Roll up the KPIs of every community now (what the scheduler does every few minutes), with progress."""
    from rich.progress import Progress

    from services.bootstrap import build_resources
    from workers.tasks.kpis import rollup_kpis

    settings = get_settings()
    configure_logs(settings.json_logs)

    async def main() -> int:
        resources = build_resources(settings)
        try:
            with Progress(transient=False) as bar:
                task = bar.add_task("KPI roll-up (communities)", total=None)
                return await rollup_kpis(
                    resources, progress=lambda done, total: bar.update(task, completed=done, total=total)
                )
        finally:
            await resources.close()

    typer.echo(f"KPI roll-up: {asyncio.run(main())} snapshot rows written")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()


@cli.command()
def openapi(
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout")] = None,
) -> None:
    """The published contract: GET /openapi.json of the app, as served (no port, no database needed)."""
    import httpx

    from api.main import create_app

    async def fetch() -> bytes:
        transport = httpx.ASGITransport(app=create_app(get_settings()))
        async with httpx.AsyncClient(transport=transport, base_url="http://linli.local") as client:
            r = await client.get("/openapi.json")
            r.raise_for_status()
            return orjson.dumps(r.json(), option=orjson.OPT_INDENT_2)

    body = asyncio.run(fetch())
    if out is None:
        sys.stdout.write(body.decode() + "\n")
    else:
        out.write_bytes(body + b"\n")
        typer.echo(f"wrote {out}")
