"""The fixed mix of searches that bench/search.py sends, and their naive SQL.

Words are picked from the demo data's own vocabulary at every frequency: in a
million demo incidents `error` is in nine of ten, `docker` in three of ten,
`npm` in one of ten, `ERESOLVE` and `ModuleNotFoundError` in about one in a
hundred, and `zzyzx` in none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TEXT_COLUMNS = ("error_message", "root_cause", "error_log", "repository", "workflow")


@dataclass(frozen=True)
class Naive:
    """The original design's query: every word somewhere, as a substring."""

    words: tuple[str, ...]
    excluded: tuple[str, ...] = ()
    offset: int = 0
    where: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)

    def sql(self, *, sqlite: bool) -> tuple[str, str, dict[str, Any]]:
        """The page query, the count query and their parameters."""
        like = "LIKE" if sqlite else "ILIKE"  # SQLite's LIKE ignores ASCII case
        columns = (*TEXT_COLUMNS, "tags" if sqlite else "tags::text")
        parameters = dict(self.parameters)
        conditions = ["team_id = :team_id"]
        for prefix, words, negate in (
            ("w", self.words, ""),
            ("x", self.excluded, "NOT "),
        ):
            for index, word in enumerate(words):
                name = f"{prefix}{index}"
                parameters[name] = f"%{word}%"
                any_column = " OR ".join(
                    f"coalesce({column}, '') {like} :{name}" for column in columns
                )
                conditions.append(f"{negate}({any_column})")
        if self.where:
            conditions.append(self.where)
        where = " AND ".join(conditions)
        page = (
            f"SELECT * FROM incidents WHERE {where} "
            f"ORDER BY created_at DESC, id DESC LIMIT 20 OFFSET {self.offset}"
        )
        return page, f"SELECT count(*) FROM incidents WHERE {where}", parameters


@dataclass(frozen=True)
class Search:
    kind: str
    body: dict[str, Any]
    naive: Naive | None = None
    cursor_depth: int = 0


def _text(kind: str, query: str, naive: Naive, **body: Any) -> Search:
    return Search(kind, {"search_query": query, **body}, naive)


MIX: list[Search] = [
    # Full text, from the most common words to none at all.
    _text("common word: error", "error", Naive(("error",))),
    _text(
        "spec example words: timeout error",
        "timeout error",
        Naive(("timeout", "error")),
    ),
    _text("frequent word: docker", "docker", Naive(("docker",))),
    _text("frequent word: python", "python", Naive(("python",))),
    _text("mid word: npm", "npm", Naive(("npm",))),
    _text("rare word: ERESOLVE", "ERESOLVE", Naive(("ERESOLVE",))),
    _text(
        "rare word: ModuleNotFoundError",
        "ModuleNotFoundError",
        Naive(("ModuleNotFoundError",)),
    ),
    _text("rare word: yaml", "yaml", Naive(("yaml",))),
    _text("no match: zzyzx", "zzyzx", Naive(("zzyzx",))),
    _text("phrase: exit code 137", '"exit code 137"', Naive(("exit code 137",))),
    _text("phrase: npm ERR!", '"npm ERR!"', Naive(("npm ERR!",))),
    _text("path: package.json", "package.json", Naive(("package.json",))),
    _text("prefix: Module*", "Module*", Naive(("Module",))),
    _text("prefix: time*", "time*", Naive(("time",))),
    _text(
        "exclusion: timeout -docker",
        "timeout -docker",
        Naive(("timeout",), ("docker",)),
    ),
    _text(
        "text and filters: npm, critical",
        "npm",
        Naive(("npm",), where="severity = 4"),
        severities=["critical"],
    ),
    _text(
        "spec example request",
        "timeout error",
        Naive(("timeout", "error"), where="severity IN (3, 4) AND confidence >= 0.7"),
        severities=["high", "critical"],
        min_confidence=0.7,
        date_preset="last_7_days",
    ),
    _text(
        "deep page 50: docker",
        "docker",
        Naive(("docker",), offset=980),
        page=50,
    ),
    _text("highlight: ERESOLVE", "ERESOLVE", Naive(("ERESOLVE",)), highlight=True),
    # Every filter on its own, then together.
    Search("severities: high, critical", {"severities": ["high", "critical"]}),
    Search("sources: jenkins", {"sources": ["jenkins"]}),
    Search("outcomes: failed, escalated", {"outcomes": ["failed", "escalated"]}),
    Search("failure type: dependency_error", {"failure_types": ["dependency_error"]}),
    Search("tags: flaky", {"tags": ["flaky"]}),
    Search("tags: runner and cache", {"tags": ["runner", "cache"]}),
    Search("repository", {"repository": "meridian-pay/ledger-service"}),
    Search("confidence 0.7-0.9", {"min_confidence": 0.7, "max_confidence": 0.9}),
    Search(
        "filters combined",
        {
            "sources": ["github_actions"],
            "severities": ["critical"],
            "outcomes": ["failed"],
        },
    ),
    Search(
        "custom dates",
        {"start_date": "2026-10-01T00:00:00Z", "end_date": "2026-10-15T00:00:00Z"},
    ),
    # Every date preset.
    *(
        Search(f"preset: {preset}", {"date_preset": preset})
        for preset in (
            "today",
            "yesterday",
            "this_week",
            "last_week",
            "this_month",
            "last_month",
            "last_7_days",
            "last_30_days",
            "last_90_days",
        )
    ),
    # Every order.
    Search("sort: created_at asc", {"sort_by": "created_at", "sort_order": "asc"}),
    Search("sort: updated_at desc", {"sort_by": "updated_at"}),
    Search("sort: severity desc", {"sort_by": "severity"}),
    Search("sort: confidence asc", {"sort_by": "confidence", "sort_order": "asc"}),
    Search("sort: resolution time desc", {"sort_by": "resolution_time_seconds"}),
    Search(
        "sort: relevance, npm",
        {"search_query": "npm install", "sort_by": "relevance"},
    ),
    Search(
        "sort: relevance, ERESOLVE",
        {"search_query": "ERESOLVE peer", "sort_by": "relevance"},
    ),
    # Deep pages, by number and by cursor.
    Search("page 50", {"page": 50}),
    Search("page 500", {"page": 500}),
    Search("cursor, 100 pages deep", {"page_size": 20}, cursor_depth=100),
    Search(
        "cursor, 50 pages deep: docker",
        {"search_query": "docker", "page_size": 20},
        cursor_depth=50,
    ),
    Search(
        "cursor, 30 pages deep: severity",
        {"sort_by": "severity", "page_size": 20},
        cursor_depth=30,
    ),
    # Facets.
    Search("facets: everything", {"include_facets": True}),
    Search("facets: docker", {"search_query": "docker", "include_facets": True}),
    Search(
        "facets: critical, last 30 days",
        {
            "severities": ["critical"],
            "date_preset": "last_30_days",
            "include_facets": True,
        },
    ),
]
