from setuptools import find_packages, setup

requires = [
    "alembic>=1.13",
    "argon2-cffi>=23.1",
    # Below the next major version: myapp relies on internals of these three
    # (tests/db/test_library_canaries.py fails loudly when they change).
    "gunicorn>=27.0,<28",
    "openapi-ui-bundles>=0.3",
    "orjson>=3.9",
    "plaster_pastedeploy",
    "prometheus_client>=0.17",
    "psycopg[binary]>=3.3,<4",
    "pydantic>=2.6",
    "PyJWT>=2.8",
    "pyramid>=2.0",
    "pyramid_retry>=2.1",
    "pyramid_tm>=2.5",
    "redis>=4.5",
    # pyramid 2.0 imports pkg_resources; from 80.9 on setuptools answers with a
    # UserWarning printed by every command (pserve, initialize_myapp_db).
    "setuptools<80.9",
    # myapp.db.compiled calls Connection._cursor_execute, a private method that a
    # minor release may change: below the next minor (tests/db/test_library_canaries.py).
    "SQLAlchemy>=2.0,<2.2",
    "transaction>=4.0",
    "waitress>=3.0",
    "zope.sqlalchemy>=3.1,<5",
]

tests_require = [
    "openapi-core>=0.19",
    "playwright>=1.40",
    "schemathesis>=3.30",
    "WebTest>=3.0",
    "pytest>=8",
]

setup(
    name="myapp",
    version="0.1.0",
    description="The RealWorld (Conduit) JSON API on Pyramid, SQLAlchemy and pyramid_tm",
    python_requires=">=3.11",
    packages=find_packages(exclude=["tests", "tests.*"]),
    include_package_data=True,
    zip_safe=False,
    install_requires=requires,
    extras_require={"testing": tests_require},
    entry_points={
        "paste.app_factory": ["main = myapp:main"],
        "console_scripts": [
            "initialize_myapp_db = myapp.scripts.initialize_db:main",
        ],
    },
)
