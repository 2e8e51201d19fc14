"""The online migrations on a seeded database while the application takes writes.

bench.scale.migration at 50,000 articles: a private cluster's database at the
revision before the counters is seeded with set-based SQL, the counters'
tables revision is applied, ``pserve production.ini`` starts on it, and
writers publish, retag, delete, favorite and unfavorite (old articles and new
ones; one of them the author of many seeded articles, retagging them all over
the id range) while the later revisions run: the counters' backfill and the
tag dates with the page indexes (batches, ``CREATE INDEX CONCURRENTLY``,
``VALIDATE``). Afterwards every count equals ``count(*)``, every tag's
``created_at`` is its article's, every index is valid and every constraint
validated (``migrate_while_writing`` raises otherwise), and every write
succeeded. No write waited for a lock more than a second: PostgreSQL logs
every wait over 0.2 s of the application's connections, with how long it
lasted, and none over a second is allowed in any revision. The tag dates' batches
lock only their rows, about 0.2 s; the counters' batches lock no table: the
writers of a batch's articles wait only for its last step, a rescan sized to
about 0.1 s and cancelled past 0.5 s (the migration's docstring). The times
are printed (-s).
"""

from bench.scale.migration import REVISIONS, migrate_while_writing

ARTICLES = 50_000


def test_the_migrations_run_while_writes_go_on_and_leave_exact_data(private_cluster, private_database):
    result = migrate_while_writing(private_cluster, private_database, ARTICLES, log=lambda message: None)
    for step in result["revisions"]:
        print(f"\n{step['what']} ({step['revision']}) on {ARTICLES} articles: {step['seconds']:.1f} s, "
              f"{step['writes']} writes meanwhile, longest {step['longest_write_ms']:.0f} ms, "
              f"lock waits over 1 s: {step['waits_over_1s'] or 'none'}, longest wait "
              f"{step['longest_wait_ms']:.0f} ms (0: none over 0.2 s)")
    assert len(result["revisions"]) == 3
    assert [step["revision"] for step in result["revisions"]] == [revision for _, revision in REVISIONS]
    assert result["statuses"] == [200, 201], result["statuses"]
    assert all(step["writes"] > 0 for step in result["revisions"][:2])
    counters, tag_dates, later = result["revisions"]
    assert counters["waits_over_1s"] == [], counters["waits_over_1s"]
    assert tag_dates["waits_over_1s"] == [], tag_dates["waits_over_1s"]
    assert later["waits_over_1s"] == [], later["waits_over_1s"]
    assert result["articles_count"] > ARTICLES - 100
