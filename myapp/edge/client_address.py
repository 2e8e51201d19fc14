"""The client's address, ``request.client_address``: the peer, or what trusted proxies say.

Behind a proxy every request comes from the proxy's address (or, with
``make production``, from nginx on a unix socket, with no address at all).
The proxy says whom it serves in ``X-Forwarded-For`` (or RFC 7239's
``Forwarded``), but a client can send that header too, so it is believed only
when the peer is a trusted proxy:

- ``myapp.trusted_proxies``: the proxies' networks (``10.0.0.0/8``...), and
  ``unix`` for a peer on a unix socket (only processes of this host can reach
  it: make production's nginx). None by default: the peer is the client.
- ``myapp.trusted_proxy_hops``: how many trusted proxies stand in a row in
  front of the application (1: nginx alone; 2: a load balancer, then nginx).
  Each appends the address it saw to the header, so the client is the entry
  this many places from the right (the leftmost when there are fewer);
  whatever the client wrote further left is ignored.
- ``myapp.forwarded_header``: ``x-forwarded-for`` (nginx's, the default) or
  ``forwarded``; only that one header is read, so a client cannot slip the
  other past a proxy that does not rewrite it.

A peer outside the trusted networks, a missing header or an entry that is not
an address leaves the peer's own address. The login throttle, the ``/metrics``
allowlist and the access log all read ``request.client_address``, computed
once per request.
"""

import ipaddress
import re

from ..settings import get_app_settings

#: One ``for=`` parameter of a Forwarded element: a token or a quoted string.
FORWARDED_FOR = re.compile(r'(?i)(?:^|;)\s*for\s*=\s*("[^"]*"|[^;,\s]*)')


def parse_address(value):
    """An IP address in text form, from an entry such as ``"[2001:db8::1]:4711"``; or None."""
    value = value.strip().strip('"')
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:  # IPv4 with a port
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def forwarded_chain(header_name, value):
    """The addresses a header lists, nearest client first, the last proxy's entry last."""
    if header_name == "forwarded":
        entries = []
        for element in value.split(","):
            match = FORWARDED_FOR.search(element.strip())
            entries.append(match.group(1) if match else "")
        return entries
    return value.split(",")


def is_trusted(peer, trusted):
    if not peer:
        return "unix" in trusted
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in trusted if network != "unix")


def client_address(request):
    """The client's address as text, or None when even the peer has none (a unix socket)."""
    settings = get_app_settings(request.registry)
    peer = request.environ.get("REMOTE_ADDR") or ""
    if not is_trusted(peer, settings.trusted_proxies):
        return peer or None
    header = settings.forwarded_header
    value = request.headers.get(header)
    if value:
        chain = forwarded_chain(header, value)
        # Fewer entries than hops: the first proxy was reached directly; its entry is the peer.
        found = parse_address(chain[-min(settings.trusted_proxy_hops, len(chain))])
        if found:
            return found
    return peer or None


def includeme(config):
    config.add_request_method(client_address, "client_address", reify=True)
