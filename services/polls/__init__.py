"""Surveys and votes (问卷 / 表决): creation, hash-chained ballots, results with the 双过半 test."""
