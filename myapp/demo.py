"""A small demo data set: a few users, ten articles with tags, follows,
favorites and comments, so that a frontend has something to show.

``initialize_myapp_db development.ini --demo`` loads it through the
application's own transaction manager (see ``myapp.scripts.initialize_db``).
Everything is written with the application's services, so it obeys the same
rules as data written through the API. Loading is idempotent: when any demo
user already exists, nothing is written.

Every demo user logs in with ``DEMO_PASSWORD``, e.g. ``jake@example.com``.
"""

import datetime

from sqlalchemy import or_, select

from .articles.schemas import NewArticle
from .articles.services import create_article, favorite
from .comments.schemas import NewComment
from .comments.services import add_comment
from .models import utcnow
from .users.models import User
from .users.schemas import NewUser
from .users.services import follow, register

DEMO_PASSWORD = "conduit-demo"

AVATAR = "https://api.realworld.io/images/smiley-cyrus.jpeg"

#: username, email, bio, image
USERS = [
    ("jake", "jake@example.com", "I work at State Farm and write about Pyramid on weekends.",
     "https://api.realworld.io/images/demo-avatar.png"),
    ("ana", "ana@example.com", "Database person: PostgreSQL by day, SQLite by night.", AVATAR),
    ("kofi", "kofi@example.com", "Frontend developer. I read every API spec twice.", AVATAR),
    ("mei", "mei@example.com", "Security engineer; ask me about password hashing.", AVATAR),
]

#: author, title, description, body, tags, days ago
ARTICLES = [
    ("jake", "Getting started with Pyramid", "A web framework that stays out of your way",
     "Pyramid starts small: one `Configurator`, a few routes, a few views.\n\n"
     "It grows with you: `config.include()` lets each part of the application "
     "wire itself, and nothing is global.", ["beginners", "pyramid", "python"], 30),
    ("ana", "One database session per request", "Why a new Session every time is the simple choice",
     "A session is a cheap container for one unit of work. Starting each request "
     "with an empty one means nothing leaks from the previous request.\n\n"
     "`pyramid_tm` commits on success and aborts on errors; views never call `commit()`.",
     ["pyramid", "sqlalchemy", "transactions"], 27),
    ("mei", "Hashing passwords with Argon2id", "Memory-hard hashing, and the parameters we chose",
     "Argon2id with 19 MiB of memory and two iterations is OWASP's first recommendation.\n\n"
     "Verify against a decoy hash when the email is unknown, so a login takes as long "
     "whether or not the account exists.", ["passwords", "security"], 24),
    ("ana", "SQLite in production? Sometimes.", "WAL, busy timeouts and BEGIN IMMEDIATE",
     "SQLite handles far more traffic than its reputation says, once it runs in WAL mode "
     "with a busy timeout and writers take the lock up front.", ["databases", "sqlite"], 21),
    ("ana", "Serialization failures, explained", "When PostgreSQL says: try again",
     "Under concurrent writes PostgreSQL may abort a transaction with a serialization "
     "failure or a deadlock. The cure is to replay the whole request: `pyramid_retry` does.",
     ["databases", "postgresql", "transactions"], 18),
    ("jake", "Migrations you can trust", "Let a test compare your models with your migrations",
     "Autogenerate a revision, read it, then let a test fail whenever the models and the "
     "migrations disagree.", ["alembic", "databases", "testing"], 15),
    ("kofi", "Error bodies a frontend can use", "One shape for every error",
     "`{\"errors\": {\"email\": [\"has already been taken\"]}}` maps straight onto a form: "
     "the key names the field, the messages go under it.", ["api", "design", "frontend"], 12),
    ("jake", "Testing against two databases at once", "Parametrized fixtures for SQLite and PostgreSQL",
     "A session-scoped fixture with `params=[\"sqlite\", \"postgresql\"]` runs every test twice, "
     "and catches the differences between the two before production does.",
     ["databases", "pytest", "testing"], 9),
    ("kofi", "A frontend developer reads the RealWorld spec", "Notes from building yet another Conduit",
     "Slugs change when titles do, `/articles/feed` must be routed before `/articles/{slug}`, "
     "and list items carry no body.", ["api", "frontend", "realworld"], 5),
    ("mei", "Tokens that expire", "Short-lived JWTs and what to put in them",
     "Sign with one algorithm and refuse every other (`alg: none` included); put the user id, "
     "the issue time and the expiry in the token, nothing more.", ["jwt", "security"], 2),
]

#: follower, followee
FOLLOWS = [("jake", "ana"), ("ana", "jake"), ("kofi", "jake"), ("kofi", "ana"), ("mei", "kofi")]

#: user, title of the article
FAVORITES = [
    ("ana", "Getting started with Pyramid"),
    ("kofi", "Getting started with Pyramid"),
    ("mei", "Getting started with Pyramid"),
    ("jake", "One database session per request"),
    ("kofi", "One database session per request"),
    ("jake", "Hashing passwords with Argon2id"),
    ("jake", "Serialization failures, explained"),
    ("mei", "Error bodies a frontend can use"),
    ("ana", "Testing against two databases at once"),
    ("kofi", "Tokens that expire"),
]

#: title of the article, author, body
COMMENTS = [
    ("Getting started with Pyramid", "kofi", "Clear and short. Which template would you start from?"),
    ("Getting started with Pyramid", "jake", "The cookiecutter, then delete what you don't need."),
    ("One database session per request", "jake", "This saved us from a DetachedInstanceError or two."),
    ("Hashing passwords with Argon2id", "ana", "How long does one hash take on your servers?"),
    ("Hashing passwords with Argon2id", "mei", "About 30 ms; cheap enough for a login, dear for an attacker."),
    ("SQLite in production? Sometimes.", "kofi", "Until the second server arrives, that is."),
    ("Error bodies a frontend can use", "ana", "Exact messages make the tests readable too."),
    ("A frontend developer reads the RealWorld spec", "mei", "The feed route bit me as well."),
]


def demo_users_present(dbsession):
    """Usernames of the demo users already in the database (by username or email)."""
    names = [username for username, *_ in USERS]
    emails = [email for _, email, *_ in USERS]
    return sorted(
        dbsession.scalars(
            select(User.username).where(or_(User.username.in_(names), User.email.in_(emails)))
        )
    )


def load_demo_data(dbsession, passwords, now=None):
    """Write the demo data with ``dbsession``; the caller's transaction commits it.

    Returns what was done: ``{"skipped": [usernames]}`` when demo users exist
    already (nothing is written), otherwise the number of rows of each kind.
    """
    present = demo_users_present(dbsession)
    if present:
        return {"skipped": present}
    now = now or utcnow()

    users = {}
    for username, email, bio, image in USERS:
        user = register(
            dbsession, passwords, NewUser(username=username, email=email, password=DEMO_PASSWORD)
        )
        user.bio, user.image = bio, image
        users[username] = user

    articles = {}
    for author, title, description, body, tags, days_ago in ARTICLES:
        new_article = NewArticle(title=title, description=description, body=body, tagList=tags)
        article = create_article(dbsession, users[author], new_article)
        article.created_at = article.updated_at = now - datetime.timedelta(days=days_ago)
        articles[title] = article

    for follower, followee in FOLLOWS:
        follow(dbsession, users[follower], users[followee])
    for username, title in FAVORITES:
        favorite(dbsession, users[username], articles[title].slug)
    for hours, (title, author, body) in enumerate(COMMENTS, start=1):
        article = articles[title]
        at = article.created_at + datetime.timedelta(hours=hours)
        add_comment(dbsession, users[author], article.slug, NewComment(body=body), now=at)
    dbsession.flush()
    return {
        "users": len(USERS),
        "articles": len(ARTICLES),
        "tags": len({tag for *_, tags, _ in ARTICLES for tag in tags}),
        "follows": len(FOLLOWS),
        "favorites": len(FAVORITES),
        "comments": len(COMMENTS),
    }


def describe(report):
    """One line for the console."""
    if "skipped" in report:
        return (
            "demo data: already there (users " + ", ".join(report["skipped"]) + "), nothing loaded"
        )
    counts = ", ".join(f"{count} {kind}" for kind, count in report.items())
    logins = ", ".join(email for _, email, *_ in USERS)
    return f"demo data loaded: {counts}; log in as {logins} with password {DEMO_PASSWORD!r}"
