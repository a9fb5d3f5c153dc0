"""Error codes of the map area (zh-CN, English)."""

from __future__ import annotations

from services.i18n import register

register(
    {
        "geo.invalid_geometry": ("几何图形无效", "The geometry is invalid"),
        "geo.out_of_range": (
            "坐标超出范围（经度 ±180，纬度 ±90）",
            "Coordinates out of range (lon ±180, lat ±90)",
        ),
        "geo.outside_china": (
            "GCJ-02 / BD-09 坐标只在中国境内有定义",
            "GCJ-02 / BD-09 coordinates are defined inside China only",
        ),
        "geo.invalid_bbox": ("范围框无效：西,南,东,北", "Invalid bbox: west,south,east,north"),
        "geo.bbox_too_large": ("范围框过大", "The bbox is too large"),
        "geo.bbox_required": ("可见小区较多，请指定范围框 bbox", "Many communities are visible: give a bbox"),
        "geo.unknown_layer": ("未知图层", "Unknown layer"),
        "building.not_found": ("楼栋不存在", "Building not found"),
    }
)
