"""Request and response shapes of the users and profiles endpoints."""

from ..edge.validation import OptionalText, Schema, Text

# A username is one path segment of /profiles/{username}: no spaces, control
# characters or slash.
Username = Text(64, pattern=r"^[^\x00-\x20\x7f/]+$")
Email = Text(254, pattern=r"^[^\x00-\x20\x7f@]+@[^\x00-\x20\x7f@]+$")
# NIST 800-63B: at least 8 characters, at least 64 accepted, no composition rules.
Password = Text(256, min_length=8)
LoginPassword = Text(256)
Bio = OptionalText(10_000)
ImageUrl = OptionalText(2048)


class NewUser(Schema):
    username: Username
    email: Email
    password: Password


class NewUserBody(Schema):
    user: NewUser


class LoginUser(Schema):
    email: Text(254)
    password: LoginPassword


class LoginUserBody(Schema):
    user: LoginUser


class UserUpdate(Schema):
    """Every field optional; the ones given must be valid (null only for bio and image)."""

    username: Username = None
    email: Email = None
    password: Password = None
    bio: Bio = None
    image: ImageUrl = None


class UserUpdateBody(Schema):
    user: UserUpdate


def user_json(user, token):
    return {
        "user": {
            "email": user.email,
            "token": token,
            "username": user.username,
            "bio": user.bio,
            "image": user.image,
        }
    }


def profile_json(user, following):
    return {"username": user.username, "bio": user.bio, "image": user.image, "following": following}
