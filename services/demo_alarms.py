"""Demo cameras and gas sensors: 18 AI camera channels at the gates, public areas and perimeter, and a
gas sensor in each building's gas riser, with secrets the demo publishes (so `linli simulate-devices`
and the README's curl walk-through can sign), and a few live alarms so `make run` shows them.

Idempotent: devices are found by serial, and the live alarms are raised only for a device that has
none yet. Cameras at a building or on the perimeter belong to the night security-watch post of their
buildings (services/demo_duty.py), so routing finds the party member on duty there.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.alarms.lifecycle import record_signal
from services.alarms.secrets import encrypt_secret
from services.alarms.signals import AlarmSignal, SignalSource
from services.config import Settings
from services.models import Building, utcnow
from services.models.alarms import Alarm, AlarmDevice, AlarmType, DeviceKind, SensorKind
from services.models.duty import DutyPost

# (serial, name, area, building number or None, channel). Serial prefixes as on the nameplates
# (Hikvision DS-2CD…); MACs are derived from the position.
CAMERAS: tuple[tuple[str, str, str, int | None, int], ...] = (
    ("DS2CD-DEMO-G01", "东门 入口", "东门 车行入口", None, 1),
    ("DS2CD-DEMO-G02", "东门 出口", "东门 车行出口", None, 2),
    ("DS2CD-DEMO-G03", "西门", "西门 人行口", None, 3),
    ("DS2CD-DEMO-G04", "南门", "南门 人行口", None, 4),
    ("DS2CD-DEMO-P01", "东门岗亭", "东门岗亭 值班位", None, 5),
    ("DS2CD-DEMO-A01", "中心广场", "中心广场 健身区", None, 6),
    ("DS2CD-DEMO-A02", "非机动车棚 1号楼", "1号楼 与 2号楼 之间 电瓶车棚", 1, 7),
    ("DS2CD-DEMO-A03", "非机动车棚 5号楼", "5号楼 东侧 电瓶车棚", 5, 8),
    ("DS2CD-DEMO-A04", "地下车库 B1 消防通道", "地下车库 B1 消防通道", None, 9),
    ("DS2CD-DEMO-A05", "3号楼 北侧消防通道", "3号楼 北侧 消防车道", 3, 10),
    ("DS2CD-DEMO-A06", "垃圾分类站", "垃圾分类投放点（4号楼 南）", 4, 11),
    ("DS2CD-DEMO-A07", "儿童游乐区", "儿童游乐区", None, 12),
    ("DS2CD-DEMO-H01", "3号楼 1单元 门厅", "3号楼 1单元 门厅", 3, 13),
    ("DS2CD-DEMO-H02", "6号楼 2单元 门厅", "6号楼 2单元 门厅", 6, 14),
    ("DS2CD-DEMO-W01", "北围墙", "北围墙 1号楼 段", 1, 15),
    ("DS2CD-DEMO-W02", "东围墙", "东围墙 2号楼 段", 2, 16),
    ("DS2CD-DEMO-W03", "南围墙", "南围墙 4号楼 段", 4, 17),
    ("DS2CD-DEMO-W04", "西围墙", "西围墙 6号楼 段", 6, 18),
)
GAS_SENSORS = tuple(
    (f"GAS-DEMO-{n:02d}", f"{n}号楼 燃气探测器", f"{n}号楼 1单元 燃气管井", n) for n in range(1, 7)
)
GAS_THRESHOLD, GAS_CLEAR = 20.0, 10.0  # %LEL
GAS_HEARTBEAT_SECONDS = 300
# Alarms live in the demo: (serial, type, value, minutes ago).
LIVE: tuple[tuple[str, AlarmType, float | None, int], ...] = (
    ("DS2CD-DEMO-A04", AlarmType.illegal_parking, None, 12),
    ("DS2CD-DEMO-W01", AlarmType.intrusion, None, 4),
    ("DS2CD-DEMO-P01", AlarmType.off_post, None, 25),
)


def device_secret(serial: str) -> str:
    """The demo's published device secret (demo devices only; real ones get a random secret)."""
    return f"linli-demo-{serial.lower()}"


def mac_for(index: int) -> str:
    return f"44:19:b6:00:{index // 256:02x}:{index % 256:02x}"


async def _posts(session: AsyncSession, community_id: int) -> list[DutyPost]:
    return list(
        (
            await session.exec(
                select(DutyPost)
                .where(DutyPost.community_id == community_id, DutyPost.category == "security_watch")
                .order_by(col(DutyPost.id))
            )
        ).all()
    )


async def seed(session: AsyncSession, community_id: int, settings: Settings | None = None) -> None:
    buildings = {
        b.name: b.id
        for b in (await session.exec(select(Building).where(Building.community_id == community_id))).all()
    }
    posts = await _posts(session, community_id)

    def post_for(building_id: int | None) -> int | None:
        for post in posts:
            if building_id is not None and building_id in (post.building_ids or []):
                return post.id
        return posts[0].id if posts else None

    known = set(
        (await session.exec(select(AlarmDevice.serial).where(AlarmDevice.community_id == community_id))).all()
    )
    rows: list[AlarmDevice] = []
    for i, (serial, name, area, number, channel) in enumerate(CAMERAS, start=1):
        if serial in known:
            continue
        building_id = buildings.get(f"{number}号楼") if number else None
        rows.append(
            AlarmDevice(
                community_id=community_id,
                kind=DeviceKind.camera,
                vendor="Hikvision",
                model="DS-2CD3T47WDV3-L",
                serial=serial,
                mac=mac_for(i),
                channel=channel,
                name=name,
                building_id=building_id,
                area=area,
                duty_post_id=post_for(building_id),
                secret_encrypted=encrypt_secret(device_secret(serial), settings),
            )
        )
    for serial, name, area, number in GAS_SENSORS:
        if serial in known:
            continue
        building_id = buildings.get(f"{number}号楼")
        rows.append(
            AlarmDevice(
                community_id=community_id,
                kind=DeviceKind.sensor,
                sensor_kind=SensorKind.gas,
                vendor="汉威科技",
                model="JT-AEC2361",
                serial=serial,
                name=name,
                building_id=building_id,
                area=area,
                duty_post_id=post_for(building_id),
                threshold=GAS_THRESHOLD,
                clear_threshold=GAS_CLEAR,
                unit="%LEL",
                secret_encrypted=encrypt_secret(device_secret(serial), settings),
                last_heartbeat_at=utcnow(),
            )
        )
    session.add_all(rows)
    await session.flush()
    await _live_alarms(session, community_id)


async def _live_alarms(session: AsyncSession, community_id: int) -> None:
    now = utcnow()
    for serial, alarm_type, value, minutes in LIVE:
        device = (
            await session.exec(
                select(AlarmDevice).where(
                    AlarmDevice.community_id == community_id, AlarmDevice.serial == serial
                )
            )
        ).first()
        if device is None:
            continue
        has = (await session.exec(select(Alarm.id).where(Alarm.device_id == device.id).limit(1))).first()
        if has is not None:
            continue
        at = now - timedelta(minutes=minutes)
        raw = {
            "eventType": alarm_type.value,
            "eventState": "active",
            "dateTime": at.isoformat(),
            "demo": True,
        }
        signal = AlarmSignal(
            type=alarm_type, active=True, occurred_at=at, source=SignalSource.isapi, raw=raw, value=value
        )
        await record_signal(session, device, signal)
