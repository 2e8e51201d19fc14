"""Every maintained count two ways: from the counters, and by counting the rows."""

import sqlalchemy as sa

FROM_ROWS = """
SELECT 'articles', '', count(*) FROM articles
UNION ALL SELECT 'author', CAST(author_id AS VARCHAR(64)), count(*) FROM articles GROUP BY author_id
UNION ALL SELECT 'tag', name, count(*) FROM article_tags GROUP BY name
UNION ALL SELECT 'favorites_by', CAST(user_id AS VARCHAR(64)), count(*) FROM favorites GROUP BY user_id
UNION ALL SELECT 'favorites_of', CAST(article_id AS VARCHAR(64)), count(*) FROM favorites GROUP BY article_id
"""


def counts_from_rows(connection):
    """{(kind, subject): n} by counting rows, zeros left out."""
    return {(kind, subject): n for kind, subject, n in connection.execute(sa.text(FROM_ROWS)) if n}


def counts_from_counters(connection):
    """{(kind, subject): n} summed over the counters' slots, zeros left out."""
    rows = connection.execute(sa.text("SELECT kind, subject, sum(n) FROM counters GROUP BY kind, subject"))
    return {(kind, subject): int(n) for kind, subject, n in rows if n}
