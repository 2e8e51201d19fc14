"""The bench's data set, written through the public API of a running target.

Full size (the issue's): 40 users, 400 articles, 1,500 favorites, 800
comments, and follows for the feed (user 0, the reader, follows a quarter of
the others; everyone else follows a few). ``tiny`` is the smoke test's size.
Deterministic (a fixed random seed), so every target gets the same data.
"""

import http.client
import json
import random
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

PASSWORD = "bench-password-1"
TAGS = [f"tag{n:02d}" for n in range(20)]
PARALLEL = 8


@dataclass
class Size:
    users: int
    articles: int
    favorites: int
    comments: int
    follows_each: int


SIZES = {
    "full": Size(users=40, articles=400, favorites=1500, comments=800, follows_each=5),
    "tiny": Size(users=6, articles=24, favorites=30, comments=20, follows_each=2),
}


@dataclass
class Seeded:
    """What the scenarios need to know about the data of one target."""

    tokens: list = field(default_factory=list)  # tokens[0]: the reader
    slugs: list = field(default_factory=list)  # in creation order


def call(base, method, path, body=None, token=None):
    """(status, parsed JSON) of one request; raises on a transport error."""
    url = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    try:
        connection.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    return response.status, json.loads(raw) if raw else None


def _expect(status, answer, wanted, what):
    if status != wanted:
        raise RuntimeError(f"seeding: {what} answered {status}: {answer}")
    return answer


def seed(base, size_name="full"):
    size = SIZES[size_name]
    rng = random.Random(9)
    seeded = Seeded()
    with ThreadPoolExecutor(PARALLEL) as pool:

        def run(requests, wanted):
            """Send ``requests`` (what, method, path, body, token) in parallel; their answers."""
            futures = [
                (what, pool.submit(call, base, method, path, body, token))
                for what, method, path, body, token in requests
            ]
            return [_expect(*future.result(), wanted, what) for what, future in futures]

        names = [f"user{n:02d}" for n in range(size.users)]
        users = run(
            [
                (f"register {name}", "POST", "/api/users",
                 {"user": {"username": name, "email": f"{name}@bench.example", "password": PASSWORD}},
                 None)
                for name in names
            ],
            201,
        )
        seeded.tokens = [answer["user"]["token"] for answer in users]

        # Articles one author at a time in order, so creation order is known.
        articles = []
        for n in range(size.articles):
            author = n % size.users
            body = {
                "article": {
                    "title": f"Article {n}: notes on benchmarking",
                    "description": f"What article {n} is about",
                    "body": "Lorem ipsum dolor sit amet. " * rng.randint(5, 40),
                    "tagList": rng.sample(TAGS, rng.randint(1, 4)),
                }
            }
            articles.append((f"article {n}", "POST", "/api/articles", body, seeded.tokens[author]))
        seeded.slugs = [answer["article"]["slug"] for answer in run(articles, 201)]

        follows = []
        for follower in range(size.users):
            reader = follower == 0
            count = max(size.users // 4, 1) if reader else size.follows_each
            others = [n for n in range(size.users) if n != follower]
            for followee in rng.sample(others, min(count, len(others))):
                follows.append(
                    (f"follow {followee}", "POST", f"/api/profiles/{names[followee]}/follow", None,
                     seeded.tokens[follower])
                )
        run(follows, 200)

        pairs = set()
        while len(pairs) < min(size.favorites, size.users * size.articles):
            pairs.add((rng.randrange(size.users), rng.randrange(size.articles)))
        run(
            [
                (f"favorite {article}", "POST", f"/api/articles/{seeded.slugs[article]}/favorite",
                 None, seeded.tokens[user])
                for user, article in sorted(pairs)
            ],
            200,
        )

        comments = []
        for n in range(size.comments):
            # A skewed spread: some articles are much discussed (scenario e reads one).
            article = min(int(rng.expovariate(1 / (size.articles / 8))), size.articles - 1)
            comments.append(
                (f"comment {n}", "POST", f"/api/articles/{seeded.slugs[article]}/comments",
                 {"comment": {"body": f"Comment {n}: " + "well said. " * rng.randint(1, 12)}},
                 seeded.tokens[rng.randrange(size.users)])
            )
        run(comments, 201)
    return seeded
