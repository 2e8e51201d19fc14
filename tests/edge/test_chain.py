"""The tween chain is the one declared in myapp.edge, whatever the include order."""

from pyramid.interfaces import ITweens
from pyramid.tweens import INGRESS, MAIN

from myapp import edge


def chain(app):
    return [name for name, _ in app.registry.queryUtility(ITweens).implicit()]


def test_the_chain_is_the_declared_one(app):
    assert chain(app) == list(edge.CHAIN)


def test_the_transaction_covers_idempotency_and_the_exception_view_covers_both(app):
    names = chain(app)
    assert names.index(edge.TRANSACTION) < names.index(
        "myapp.edge.idempotency.idempotency_tween_factory"
    ) < names.index("pyramid.tweens.excview_tween_factory")


def test_the_drawing_names_every_tween_in_order():
    """The docstring's drawing lists the chain's tweens in the same order."""
    drawing = edge.__doc__.split("::", 1)[1].split("pyramid_retry", 1)[0]
    labels = ["headers", "paths", "cors", "attempt", "deadline", "admission",
              "transaction", "idempotency", "conditional", "exception view"]
    positions = [drawing.index("\n    " + label) for label in labels]
    assert positions == sorted(positions)
    assert len(labels) == len(edge.CHAIN)
    assert INGRESS not in edge.CHAIN and MAIN not in edge.CHAIN
