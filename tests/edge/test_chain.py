"""The tween chain is the one declared in myapp.edge, whatever the include order."""

from pyramid.interfaces import ITweens, IViewDerivers
from pyramid.tweens import INGRESS, MAIN

from myapp import edge


def chain(app):
    return [name for name, _ in app.registry.queryUtility(ITweens).implicit()]


def test_the_chain_is_the_declared_one(app):
    assert chain(app) == list(edge.CHAIN)


def test_idempotency_and_conditional_are_steps_of_the_view_inside_the_transaction(app):
    """Under the exception views: an error in a keyed request gets the JSON envelope."""
    derivers = [name for name, _ in app.registry.queryUtility(IViewDerivers).sorted()]
    assert derivers.index("secured_view") < derivers.index("idempotency") < derivers.index(
        "conditional"
    ) < derivers.index("rendered_view")
    names = chain(app)
    assert names[-2:] == [edge.TRANSACTION, "pyramid.tweens.excview_tween_factory"]


def test_the_drawing_names_every_tween_in_order():
    """The docstring's drawing lists the chain's tweens in the same order."""
    drawing = edge.__doc__.split("::", 1)[1].split("pyramid_retry", 1)[0]
    labels = ["headers", "paths", "cors", "attempt", "deadline", "admission",
              "transaction", "exception view"]
    positions = [drawing.index("\n    " + label) for label in labels]
    assert positions == sorted(positions)
    assert len(labels) == len(edge.CHAIN)
    assert INGRESS not in edge.CHAIN and MAIN not in edge.CHAIN
