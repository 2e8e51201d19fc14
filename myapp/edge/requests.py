"""The router's requests carry the request methods as a class of their own, made once.

``config.add_request_method`` (``request.dbsession``, ``request.user``,
``request.tm``, ``request.client_address``…) makes Pyramid give every request
its extensions when the router creates it: each method bound and set on the
instance, and, for the properties, a brand-new class made with ``type()``
for that one request (``pyramid.util.InstancePropertyHelper``). Making a
class is the dearest thing Pyramid does per request: tens of microseconds,
more than several tweens together (bench/README.md).

Here, once the application is created, the router's request factory becomes
a subclass of it holding the same methods and properties as class
attributes, and the router is left nothing to apply per request. Every
request the router makes behaves as before: a reified property is still
computed on first access and kept in the instance's ``__dict__``
(``"dbsession" in request.__dict__`` still says whether the request used
the database), a plain method is still bound to the request.

Only the router's own requests change: the registry keeps its extensions,
so ``pyramid.scripting.prepare`` (scripts, pshell) and any request made
outside the router get them the usual way.
"""

from pyramid.events import ApplicationCreated
from pyramid.interfaces import IRequestExtensions


class _NoExtensions:
    """What the router applies to each request: nothing (its class has it all)."""

    descriptors = {}
    methods = {}


def with_extensions(factory, extensions):
    """A subclass of ``factory`` with ``extensions``' methods and properties as class attributes."""
    attributes = {**extensions.methods, **extensions.descriptors, "__module__": factory.__module__}
    return type(factory.__name__, (factory,), attributes)


def requests_with_their_class(event):
    router = event.app
    extensions = router.registry.queryUtility(IRequestExtensions)
    if extensions is None or router.request_extensions is not extensions:
        return  # nothing to move, or someone else's arrangement
    router.request_factory = with_extensions(router.request_factory, extensions)
    router.request_extensions = _NoExtensions()


def includeme(config):
    config.add_subscriber(requests_with_their_class, ApplicationCreated)
