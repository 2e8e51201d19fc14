"""The settings' parsers: a string from the ini file in, a typed value out.

Each raises ValueError with the end of a sentence ("must be ...") for a bad
value; ``Settings.from_ini`` (myapp.settings) puts the setting's name before it.
"""

import ipaddress

from pyramid.settings import asbool

#: The shortest JWT secret accepted: HS256 wants a key as long as its hash.
MIN_SECRET_BYTES = 32


def text(value):
    return str(value).strip()


def words(value):
    return tuple(str(value).split())


def flag(value):
    text_value = str(value).strip().lower()
    if text_value not in ("true", "false", "yes", "no", "on", "off", "1", "0"):
        raise ValueError("must be true or false")
    return asbool(text_value)


def positive_number(value):
    number = float(value)
    if not number > 0:
        raise ValueError("must be a number above 0")
    return number


def whole_number(value, minimum=0):
    number = int(str(value).strip())
    if number < minimum:
        raise ValueError(f"must be a whole number of at least {minimum}")
    return number


def positive_whole_number(value):
    return whole_number(value, minimum=1)


def gc_thresholds(value):
    """Three whole numbers (``700 10 10``), as ``gc.set_threshold`` takes them."""
    items = str(value).split()
    if len(items) != 3:
        raise ValueError("must be three whole numbers, such as 700 10 10")
    first, *rest = (whole_number(item) for item in items)
    if first < 1:
        raise ValueError("must start with a whole number of at least 1 (0 turns collection off)")
    return (first, *rest)


def networks(value):
    """Space-separated networks (``10.0.0.0/8 ::1/128``), as ``ip_network`` objects."""
    try:
        return tuple(ipaddress.ip_network(word, strict=False) for word in str(value).split())
    except ValueError as exc:
        raise ValueError(f"must be networks such as 10.0.0.0/8 ({exc})") from None


def proxy_peers(value):
    """``networks``, and the word ``unix`` for a peer on a unix socket (no address)."""
    items = str(value).split()
    return (("unix",) if "unix" in items else ()) + networks(
        " ".join(item for item in items if item != "unix"))


def one_of(*choices):
    def parse(value):
        value = text(value)
        if value not in choices:
            raise ValueError("must be one of " + ", ".join(choices))
        return value

    return parse


def secret(value):
    value = str(value)
    if len(value.encode()) < MIN_SECRET_BYTES:
        raise ValueError(f"must be at least {MIN_SECRET_BYTES} bytes")
    return value
