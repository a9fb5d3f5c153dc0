"""What a year of 幸福里小区 looks like: the residents who report, what they report in which season, and
what they say when they rate. Pure data and a seeded chooser; services.demo_kpis writes the rows.

Seasons follow Shanghai: winter (Dec–Feb) freezes and bursts pipes and blows through old windows; the
plum rains (Jun–Jul) leak through roofs; summer brings mosquitoes from the green belts, overgrown
shrubs and tripped circuits from air conditioners; autumn drops leaves into gutters and typhoons
(Sep) break windows. Every category is one the API accepts (services.tickets.schemas.CATEGORIES), and
tests/services/test_demo_valid.py validates every seeded row through the API's own request schemas.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache

from services.models import Relation

# (surname, given name) pairs: common names of an estate built in 1982, old residents and young.
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
_GIVEN = (
    "桂英", "建华", "秀珍", "国强", "玉兰", "志明", "丽娟", "海燕", "伟", "敏", "静", "磊",
    "德福", "美华", "晓东", "文杰", "淑芬", "永刚", "雪梅", "子涵", "浩然", "佳怡", "振华", "凤英",
    "金宝", "春兰", "立新", "慧琳", "宏伟", "思远", "兰英", "明亮", "红霞", "家豪", "秋菊", "建军",
)  # fmt: skip
HISTORY_RESIDENTS = 36
# Homes of the demo's named people (services.demo.PEOPLE) and the pending claim: left to them.
_TAKEN = {
    (1, 1, "201"), (3, 2, "402"), (5, 1, "101"), (2, 1, "302"), (4, 2, "601"), (1, 1, "301"),
    (1, 2, "502"), (2, 2, "101"), (3, 1, "602"), (4, 1, "202"), (5, 2, "401"), (6, 1, "302"),
    (6, 2, "501"),
}  # fmt: skip


@dataclass(frozen=True)
class Reporter:
    phone: str
    name: str
    home: tuple[int, int, str]
    relation: str


@cache
def reporters() -> tuple[Reporter, ...]:
    """Residents who use the app and report things, spread over every building; deterministic."""
    rng = random.Random("linli-demo-residents")
    homes = [
        (b, e, f"{floor}{door:02d}")
        for b in range(1, 7)
        for e in (1, 2)
        for floor in range(1, 7)
        for door in (1, 2)
    ]
    free = [h for h in homes if h not in _TAKEN]
    chosen = sorted(rng.sample(free, HISTORY_RESIDENTS))
    out = []
    for i, home in enumerate(chosen):
        name = _SURNAMES[(i * 7) % len(_SURNAMES)] + _GIVEN[(i * 5 + 3) % len(_GIVEN)]
        relation = Relation.tenant if i % 6 == 5 else Relation.family if i % 9 == 8 else Relation.owner
        out.append(Reporter(f"+86137{10000000 + i:08d}", name, home, relation))
    return tuple(out)


@dataclass(frozen=True)
class Issue:
    category: str
    title: str
    description: str
    fix: str  # the technician's resolution note


# Repairs by category; {b}/{e}/{room} are filled from the reporter's home.
REPAIRS: dict[str, tuple[Issue, ...]] = {
    "plumbing": (
        Issue(
            "plumbing",
            "厨房水槽下水堵塞",
            "厨房水槽下水很慢，今天完全堵住了，污水返上来。",
            "疏通下水管并清理存水弯油污，放水测试通畅。",
        ),
        Issue(
            "plumbing",
            "卫生间马桶水箱一直漏水",
            "马桶水箱进水阀关不严，一直有流水声，水费涨了不少。",
            "更换进水阀和止水皮垫，观察 30 分钟无渗漏。",
        ),
        Issue("plumbing", "阳台洗衣机龙头滴水", "阳台洗衣机龙头关紧后还在滴水。", "更换龙头阀芯，试水正常。"),
        Issue(
            "plumbing",
            "楼上渗水到我家卫生间天花板",
            "卫生间天花板有水渍并往下滴水，怀疑楼上管道漏水。",
            "查明楼上地漏接口渗漏，重新密封并做闭水试验。",
        ),
    ),
    "plumbing_winter": (
        Issue(
            "plumbing",
            "寒潮后水管冻裂漏水",
            "昨晚降温，阳台外露的水管冻裂了，一直在喷水，总阀已关。",
            "更换冻裂的 PPR 管段 1.2 米，外露管道加装保温棉。",
        ),
        Issue(
            "plumbing",
            "水表冻坏不走字",
            "楼道水表玻璃冻裂，水表不走了，家里水压也很小。",
            "联系自来水公司更换水表，表箱加装保温层。",
        ),
        Issue(
            "plumbing",
            "楼道立管爆裂，楼梯间积水",
            "{b}号楼{e}单元楼道立管爆了，楼梯上都是水，老人下楼怕滑。",
            "关闭单元总阀，更换爆裂立管，清理积水并放置防滑提示。",
        ),
        Issue(
            "plumbing",
            "热水器进水管冻住没有热水",
            "早上热水器出不了热水，进水管摸着冰凉，可能冻住了。",
            "用热风机解冻进水管，检查无破裂后恢复使用，加装保温套。",
        ),
    ),
    "electrical": (
        Issue(
            "electrical",
            "楼道声控灯不亮",
            "{b}号楼{e}单元 3 楼到 5 楼的声控灯不亮，晚上上楼看不清台阶。",
            "更换 3 只声控灯头，测试感应正常。",
        ),
        Issue(
            "electrical",
            "家里插座冒火花",
            "厨房插座插电饭煲时冒火花，有焦味，不敢再用。",
            "更换烧蚀插座并紧固接线，测量绝缘正常。",
        ),
        Issue(
            "electrical",
            "单元门口照明灯坏了",
            "单元门口的照明灯坏了好几天，晚上进门很黑。",
            "更换 LED 灯具，加装光控开关。",
        ),
    ),
    "electrical_summer": (
        Issue(
            "electrical",
            "开空调后总闸跳闸",
            "天热开两台空调就跳闸，家里老人怕热。",
            "检查线路容量，更换老化空开并将空调回路单独分路。",
        ),
        Issue(
            "electrical",
            "雷雨后楼道电表箱跳闸",
            "昨晚雷雨后整个楼层停电，电表箱里的闸推不上去。",
            "排查电表箱进水受潮，烘干后更换漏电保护器，恢复供电。",
        ),
    ),
    "door_window": (
        Issue(
            "door_window",
            "单元门禁刷卡打不开",
            "{b}号楼{e}单元门禁刷卡没反应，只能等人开门。",
            "更换门禁读卡模块并重新写入住户门卡。",
        ),
        Issue(
            "door_window",
            "入户门锁芯卡死",
            "入户防盗门锁芯卡住，钥匙拧不动。",
            "更换 C 级锁芯并配钥匙 3 把，开关测试正常。",
        ),
        Issue(
            "door_window",
            "楼道窗户关不上漏风",
            "楼道窗户合页坏了关不上，冬天冷风直灌进来。",
            "更换窗户合页和执手，调整窗扇密封。",
        ),
    ),
    "door_window_typhoon": (
        Issue(
            "door_window",
            "台风把楼道窗玻璃吹碎了",
            "昨晚台风把{b}号楼{e}单元 4 楼楼道窗玻璃吹碎，地上有碎玻璃。",
            "清理碎玻璃，更换钢化玻璃并加固窗框。",
        ),
    ),
    "roof_leak": (
        Issue(
            "roof_leak",
            "顶楼屋面漏雨",
            "梅雨季连续下雨，顶楼卧室天花板漏雨，墙皮起鼓。",
            "屋面局部铲除旧防水层，重做 SBS 卷材防水并闭水 48 小时。",
        ),
        Issue(
            "roof_leak",
            "外墙渗水墙面发霉",
            "下雨后北面卧室外墙渗水，墙角发霉。",
            "外墙裂缝注浆并涂刷防水涂料，室内墙面待干燥后修补。",
        ),
    ),
    "roof_leak_autumn": (
        Issue(
            "roof_leak",
            "落叶堵住天沟，雨水倒灌",
            "屋顶天沟被落叶堵住，下雨时雨水从屋檐倒灌进阳台。",
            "清理天沟和雨水斗落叶，加装落叶挡网。",
        ),
    ),
    "elevator": (
        Issue(
            "elevator",
            "新装电梯按钮失灵",
            "{b}号楼{e}单元新装电梯 5 楼外呼按钮按了没反应。",
            "更换外呼按钮板，联系维保单位复检运行正常。",
        ),
    ),
    "public_facility": (
        Issue(
            "public_facility",
            "健身器材松动",
            "小区广场的健身器材底座松动，老人锻炼有危险。",
            "紧固底座螺栓并更换锈蚀部件，张贴使用须知。",
        ),
        Issue(
            "public_facility",
            "电动车充电桩不能充电",
            "{b}号楼旁的电动车充电桩扫码后不通电。",
            "更换充电模块，测试 10 个端口均正常。",
        ),
        Issue(
            "public_facility",
            "小区道路井盖松动",
            "主路上的井盖松动，车开过去哐哐响，晚上很吵。",
            "更换井盖胶圈并调平井座。",
        ),
    ),
    "greening": (
        Issue(
            "greening",
            "树枝伸进窗户需要修剪",
            "楼前的香樟树枝伸到我家窗户，挡光还有虫子爬进来。",
            "修剪靠近窗户的树枝，清运枝叶。",
        ),
        Issue(
            "greening",
            "草坪被踩秃需要补种",
            "{b}号楼前的草坪被踩出一条路，黄土裸露。",
            "补植草皮 12 平方米并设置临时围挡。",
        ),
    ),
    "greening_summer": (
        Issue(
            "greening",
            "绿化带积水蚊子太多",
            "楼下绿化带有积水，晚上蚊子特别多，孩子被咬了好多包。",
            "清理绿化带积水和杂物，喷洒灭蚊药剂，一周后复喷一次。",
        ),
        Issue(
            "greening",
            "灌木长得太高挡住路灯",
            "小路边的灌木长得太高，把路灯都挡住了，晚上走路很暗。",
            "修剪灌木至 1.2 米以下，清运枝叶。",
        ),
        Issue(
            "greening",
            "绿地里有马蜂窝",
            "{b}号楼旁边的桂花树上有个马蜂窝，孩子们经常在那里玩。",
            "联系专业人员摘除蜂窝并喷药处理，现场设置警示。",
        ),
    ),
    "sanitation": (
        Issue(
            "sanitation",
            "垃圾箱房异味大",
            "垃圾箱房满了没清运，味道很大。",
            "当日清运并冲洗垃圾箱房，喷洒除臭剂。",
        ),
        Issue(
            "sanitation",
            "楼道里堆放杂物",
            "{b}号楼{e}单元楼道里有人堆了旧家具，挡住通道。",
            "联系住户清理楼道杂物，张贴消防通道提示。",
        ),
    ),
    "sanitation_autumn": (
        Issue(
            "sanitation",
            "落叶堵住雨水井",
            "路边雨水井被落叶堵了，下雨路面积水。",
            "清理雨水井落叶和淤泥，增加秋季清扫频次。",
        ),
    ),
}

# Seasonal weights of the pools above, by month (1–12); pools not named weigh 0 that month.
_BASE = {
    "plumbing": 5, "electrical": 3, "door_window": 3, "public_facility": 2, "greening": 1,
    "sanitation": 2, "roof_leak": 1, "elevator": 1,
}  # fmt: skip
_SEASON: dict[int, dict[str, int]] = {
    12: {"plumbing_winter": 6, "door_window": 4},
    1: {"plumbing_winter": 8, "door_window": 4},
    2: {"plumbing_winter": 5},
    3: {"greening": 3},
    4: {"greening": 3},
    5: {"greening": 2, "roof_leak": 1},
    6: {"roof_leak": 5, "greening_summer": 4, "electrical_summer": 2},
    7: {"roof_leak": 3, "greening_summer": 6, "electrical_summer": 4},
    8: {"greening_summer": 6, "electrical_summer": 4},
    9: {"door_window_typhoon": 3, "greening_summer": 2},
    10: {"roof_leak_autumn": 2, "sanitation_autumn": 2},
    11: {"roof_leak_autumn": 2, "sanitation_autumn": 3},
}
# Repairs a month: more in the frozen and the rainy months.
REPAIRS_PER_MONTH = {1: 27, 2: 23, 3: 18, 4: 18, 5: 19, 6: 24, 7: 26, 8: 24, 9: 21, 10: 18, 11: 19, 12: 25}


def repair_for(rng: random.Random, month: int) -> Issue:
    weights = dict(_BASE)
    for pool, w in _SEASON.get(month, {}).items():
        weights[pool] = weights.get(pool, 0) + w
    pools = sorted(weights)
    pool = rng.choices(pools, [weights[p] for p in pools])[0]
    return rng.choice(REPAIRS[pool])


@dataclass(frozen=True)
class Complaint:
    category: str  # also the complaint_target
    title: str
    description: str
    valid: bool
    verdict: str  # the manager's classification reason
    fix: str


COMPLAINTS: tuple[Complaint, ...] = (
    Complaint(
        "property_service",
        "保洁员连续三天没打扫楼道",
        "{b}号楼{e}单元楼道三天没人打扫，楼梯扶手上都是灰。",
        True,
        "经核实该单元保洁排班遗漏，属物业服务问题。",
        "已补扫并调整排班，主管每日抽查。",
    ),
    Complaint(
        "property_service",
        "维修师傅上门不守时",
        "约好上午十点上门维修，等到十二点也没人来，电话也不接。",
        True,
        "经核实技工未按预约时间上门，属服务质量问题。",
        "已向住户致歉，维修单预约改为提前一小时电话确认。",
    ),
    Complaint(
        "facility",
        "小区监控坏了一个月没修",
        "东门的监控摄像头坏了快一个月，电动车被偷了都查不到。",
        True,
        "经核实东门摄像头故障未及时报修，属设施管理问题。",
        "已更换摄像头并恢复录像，设施巡检增加监控在线检查。",
    ),
    Complaint(
        "property_service",
        "门岗夜间无人值守",
        "晚上十一点以后东门门岗经常没人，外来车辆随便进。",
        True,
        "经调阅记录，夜班保安存在离岗情况，属物业服务问题。",
        "已对当班保安批评教育，夜班增加巡更打卡。",
    ),
    Complaint(
        "neighbour",
        "楼上装修周末一大早就开钻",
        "楼上装修，周六早上七点就开始电钻，老人休息不好。",
        False,
        "属住户装修行为，物业已上门提醒装修时间规定，不属物业服务质量问题。",
        "已告知装修户周末施工时间为 9:00–12:00、14:00–18:00。",
    ),
    Complaint(
        "neighbour",
        "邻居在楼道里养狗有异味",
        "对门邻居把狗拴在楼道里，气味很大还乱叫。",
        False,
        "属邻里纠纷，已转居委会调解，不计入物业有效投诉。",
        "居委会已上门调解，邻居同意将狗移回室内。",
    ),
    Complaint(
        "facility",
        "新装电梯噪音大",
        "{b}号楼{e}单元新装电梯运行时嗡嗡响，晚上影响睡觉。",
        True,
        "经检测曳引机减震垫安装不到位，属设施质量问题。",
        "维保单位已更换减震垫，复测噪音降至 45 分贝以下。",
    ),
    Complaint(
        "neighbour",
        "空调外机滴水到我家窗台",
        "楼上空调外机冷凝水一直滴在我家窗台上，晚上吵得睡不着。",
        False,
        "属住户空调安装问题，物业已协助联系楼上住户，不属物业服务质量问题。",
        "楼上住户已加装冷凝水管接入落水管。",
    ),
)

RATING_COMMENTS = {
    5: ("师傅很专业，修得又快又好，谢谢！", "上门准时，修完还把地面打扫干净了，点赞。", "冬天半夜水管爆了，师傅很快就到了，非常感谢。",
        "态度很好，还教我们怎么预防，满意。", "处理及时，物业辛苦了。", ""),
    4: ("修好了，就是等的时间稍微长了一点。", "问题解决了，希望以后能提前打电话说一下上门时间。", "还可以，师傅挺耐心的。", ""),
    3: ("修是修好了，但拖了好几天。", "来了两次才修好，希望一次到位。"),
    2: ("等了太久，家里漏水好几天没人管。", "超时很久才处理，很不满意。"),
}  # fmt: skip


def comment_for(rng: random.Random, overall: int) -> str:
    return rng.choice(RATING_COMMENTS.get(overall, ("",)))


GREENING_ITEMS = {
    "spring": ("草坪修剪", "灌木整形", "病虫害防治", "新苗补植", "春季施肥", "浇灌", "树木支撑", "花坛换花", "绿篱修剪", "枯枝清理"),
    "summer": ("草坪修剪", "灌木整形", "病虫害防治", "蚊虫孳生点清理", "浇灌抗旱", "树木支撑加固", "花坛养护", "绿篱修剪", "枯枝清理", "积水清理"),
    "autumn": ("草坪修剪", "灌木整形", "病虫害防治", "落叶清扫", "秋季施肥", "浇灌", "树木防台加固", "花坛换花", "绿篱修剪", "枯枝清理"),
    "winter": ("草坪养护", "灌木整形", "树干涂白", "防寒包扎", "冬季修剪", "浇灌防冻", "树木支撑", "花坛覆盖", "绿篱修剪", "枯枝清理"),
}  # fmt: skip
GREENING_AREAS = ("1号楼前绿地", "中心花园", "东门绿化带", "6号楼北侧绿地")


def season(month: int) -> str:
    return {3: "spring", 4: "spring", 5: "spring", 6: "summer", 7: "summer", 8: "summer",
            9: "autumn", 10: "autumn", 11: "autumn"}.get(month, "winter")  # fmt: skip


def fill(text: str, home: tuple[int, int, str]) -> str:
    b, e, room = home
    return text.format(b=b, e=e, room=room)
