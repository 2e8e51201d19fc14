"""The harness itself: a private cluster serves pserve, and stops when told."""


def test_pserve_on_a_private_cluster_answers_and_writes(production_server, private_cluster):
    body = {"user": {"username": "harness", "email": "harness@example.com",
                     "password": "harness-password"}}
    status, _, answer = production_server.request("POST", "/api/users", body)
    assert status == 201, answer
    assert answer["user"]["username"] == "harness"
    database = production_server.environ["MYAPP_DATABASE_URL"].rsplit("/", 1)[1]
    assert private_cluster.psql("SELECT username FROM users", database) == "harness"
