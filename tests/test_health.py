from .contract import ContractTestApp


def test_health_answers_ok_when_the_database_answers(testapp):
    response = testapp.get("/api/health")
    assert response.status_int == 200
    assert response.json == {"status": "ok"}


def test_health_answers_503_in_json_when_the_database_does_not(make_app, backend, tmp_path):
    unreachable = {
        "sqlite": f"sqlite:///{tmp_path}/no/such/folder/db.sqlite",
        "postgresql": "postgresql+psycopg://postgres@127.0.0.1:9/nowhere?connect_timeout=2",
    }[backend]
    testapp = ContractTestApp(make_app(**{"sqlalchemy.url": unreachable}))
    response = testapp.get("/api/health", status=503)
    assert response.content_type == "application/json"
    assert response.json == {"errors": {"database": ["unavailable"]}}
