"""services.lru keeps its callers' behaviour on top of cachetools: bounded, least recently used goes."""

from services.lru import Lru


def test_evicts_the_least_recently_used() -> None:
    cache: Lru[str, int] = Lru(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c"), len(cache)) == (1, 3, 2)


def test_put_replaces_and_refreshes() -> None:
    cache: Lru[str, int] = Lru(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 10)
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), len(cache)) == (10, None, 2)


def test_zero_size_keeps_nothing() -> None:
    cache: Lru[str, int] = Lru(0)
    cache.put("a", 1)
    assert (cache.get("a"), len(cache)) == (None, 0)
