"""The formula catalogue covers every metric, in both languages, and the bundled font draws it."""

from __future__ import annotations

from services.kpis import catalogue, charts
from services.kpis.metrics import METRICS


def test_every_metric_has_its_words_and_the_font_draws_them() -> None:
    for key, metric in METRICS.items():
        d = catalogue.CATALOGUE.get(key)
        assert d is not None, f"{key}: add a Definition to services/kpis/catalogue.py"
        for locale in ("zh-CN", "en"):
            words = d.words(locale)
            assert all(words.values()), (key, locale)
            # A share reads "a ÷ b × 100%"; a quantile in minutes states itself.
            assert (" ÷ " in d.formula(locale)) != (d.statement is not None), key
        text = metric.title_zh + d.formula("zh-CN") + "".join(z for z, _ in catalogue.TARGET_SOURCE.values())
        assert charts.missing_glyphs(text) == set(), key


def test_an_unknown_metric_reads_as_numerator_over_denominator() -> None:
    assert catalogue.get("alarm_response").formula("zh-CN").startswith("分子 ÷ 分母")
