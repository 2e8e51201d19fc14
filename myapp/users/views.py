"""Users and authentication (/users, /users/login, /user) and profiles (/profiles)."""

from pyramid.view import view_config

from ..auth import get_auth
from ..auth.tokens import presented_token
from ..edge.conditional import require_current, set_content_version, user_version
from ..edge.idempotency import Keyed
from ..edge.validation import validated_body
from . import services
from .models import lookup_key
from .schemas import LoginUserBody, NewUserBody, UserUpdateBody, profile_json, user_json


def _token_again(request):
    """A repeated registration's token: issued anew, as a login with the body's credentials.

    The stored answer keeps no token (myapp.edge.idempotency), and a password
    changed since makes the repeat a 401, as a login would be.
    """
    new_user = validated_body(request, NewUserBody).user
    user = services.authenticate(
        request.dbsession, get_auth(request.registry).passwords, new_user.email, new_user.password
    )
    return get_auth(request.registry).tokens.issue(user)


@view_config(
    route_name="users", request_method="POST", renderer="json",
    idempotency=Keyed(per_user=False, token=("user", "token"), renew_token=_token_again),
)
def register(request):
    new_user = validated_body(request, NewUserBody).user
    user = services.register(request.dbsession, get_auth(request.registry).passwords, new_user)
    request.response.status_int = 201
    return user_json(user, get_auth(request.registry).tokens.issue(user))


@view_config(route_name="login", request_method="POST", renderer="json")
def login(request):
    credentials = validated_body(request, LoginUserBody).user
    throttle = get_auth(request.registry).login_throttle
    account = lookup_key(credentials.email)
    throttle.reserve(request, account)  # before request.dbsession: see its docstring
    user = services.authenticate(
        request.dbsession, get_auth(request.registry).passwords, credentials.email, credentials.password
    )
    throttle.forgive(request.dbsession, request, account)
    return user_json(user, get_auth(request.registry).tokens.issue(user))


@view_config(route_name="user", request_method="GET", renderer="json", permission="authenticated")
def current_user(request):
    return _user_answer(request, request.user)


def _user_answer(request, user):
    answer = user_json(user, presented_token(request))
    set_content_version(request, user_version(answer["user"]))
    return answer


@view_config(route_name="user", request_method="PUT", renderer="json", permission="authenticated")
def update_user(request):
    changes = validated_body(request, UserUpdateBody).user
    user = services.update_user(
        request.dbsession, get_auth(request.registry).passwords, request.user,
        request.token_claims, changes,
        precondition=lambda locked: require_current(
            request, lambda: user_version(user_json(locked, None)["user"]), "user"
        ),
    )
    return _user_answer(request, user)


@view_config(route_name="profile", request_method="GET", renderer="json")
def get_profile(request):
    profile = services.find_profile(request.dbsession, request.matchdict["username"])
    following = services.is_following(request.dbsession, request.user, profile)
    return {"profile": profile_json(profile, following)}


@view_config(
    route_name="follow", request_method="POST", renderer="json", permission="authenticated"
)
def follow(request):
    profile = services.find_profile(request.dbsession, request.matchdict["username"])
    services.follow(request.dbsession, request.user, profile)
    return {"profile": profile_json(profile, True)}


@view_config(
    route_name="follow", request_method="DELETE", renderer="json", permission="authenticated"
)
def unfollow(request):
    profile = services.find_profile(request.dbsession, request.matchdict["username"])
    services.unfollow(request.dbsession, request.user, profile)
    return {"profile": profile_json(profile, False)}
