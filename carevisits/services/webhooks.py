"""Where the server may post a webhook: public hosts only, checked twice.

When a channel is saved, its URL is read the way the sender will read it: every local,
private or odd address form is refused, and so are local names (``check_target``). When a
message is sent, the host is resolved once, every address it resolves to must be public, and
the connection goes to that vetted address with TLS checked against the host name: no second
DNS lookup that could rebind, no proxy, and no redirect followed (``post_json``). Refusals
happen before any connection is made.
"""

import enum
import http.client
import ipaddress
import re
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_HOSTS = ("qyapi.weixin.qq.com", "oapi.dingtalk.com")  # 企业微信, 钉钉 group robots
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".lan", ".home.arpa",
                  ".intranet", ".corp", ".private")
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
HOST_NAME = re.compile(rf"{LABEL}(?:\.{LABEL})*")
NUMBER = re.compile(r"0x[0-9a-f]*|[0-9]+")
REPLY_LIMIT = 64 * 1024  # a robot answers with a few bytes of JSON


class Refusal(enum.StrEnum):
    """Why a webhook URL is not one the server will post to."""

    MALFORMED = "malformed"  # not an absolute URL with a host the sender can read
    SCHEME = "scheme"  # not https (nor http where the setting allows it)
    CREDENTIALS = "credentials"  # user:password@ before the host
    NUMERIC = "numeric"  # a public address written as an integer, in hex or octal
    LOCAL = "local"  # loopback, private, link-local, multicast, reserved, local names
    NOT_APPROVED = "not_approved"  # a coordinator's host outside the approved list
    REDIRECT = "redirect"  # the receiver answered with a redirect, which is not followed


class RefusedTarget(ValueError):
    """A webhook URL or reply the server will not act on; ``str()`` is the detail."""

    def __init__(self, reason: Refusal, detail: str):
        super().__init__(f"refused ({reason.value}): {detail}")
        self.reason = reason


@dataclass(frozen=True)
class Policy:
    """The settings that decide where webhooks may go (see ``policy``)."""

    allow_http: bool = False
    approved_hosts: tuple[str, ...] = DEFAULT_HOSTS
    loopback_for_tests: bool = False  # honoured only by an app under test


def policy(config: Mapping) -> Policy:
    """The webhook policy of an app's config; the loopback exemption only when TESTING."""
    return Policy(allow_http=bool(config.get("WEBHOOK_ALLOW_HTTP")),
                  approved_hosts=tuple(h.lower() for h in config.get("WEBHOOK_HOSTS",
                                                                     DEFAULT_HOSTS)),
                  loopback_for_tests=bool(config.get("TESTING")
                                          and config.get("WEBHOOK_TEST_LOOPBACK")))


def is_public(ip: IPAddress) -> bool:
    """A globally routable unicast address, also for any IPv4 address an IPv6 one embeds."""
    if ip.version == 6:
        embedded = [ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None]
        if ip in NAT64 or any(v4 is not None and not is_public(v4) for v4 in embedded):
            return False
    return (ip.is_global and not ip.is_multicast and not ip.is_reserved
            and not ip.is_loopback and not ip.is_link_local and not ip.is_unspecified)


def allowed_address(ip: IPAddress, rules: Policy) -> bool:
    """Whether the sender may connect to ``ip``: public, or loopback in a test app that asks."""
    return is_public(ip) or (rules.loopback_for_tests and ip.version == 4 and ip in LOOPBACK)


def _ipv4_number(part: str) -> int | None:
    """One part of a numeric host the way URL parsers read it: 0x hex, 0 octal, decimal."""
    if part.startswith("0x"):
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8) if set(part) <= set("01234567") else None
    return int(part)


def numeric_host(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a host whose last label is a number stands for (``2130706433``,
    ``0x7f.1``, ``017700000001``, ``127.1``), as browsers and C resolvers read it; None for a
    name. Raises RefusedTarget for a number that is no address."""
    parts = host.split(".")
    if not NUMBER.fullmatch(parts[-1]):
        return None
    numbers = [_ipv4_number(p) if NUMBER.fullmatch(p) else None for p in parts]
    if len(parts) > 4 or None in numbers or any(n > 255 for n in numbers[:-1]) \
            or numbers[-1] >= 256 ** (5 - len(parts)):
        raise RefusedTarget(Refusal.MALFORMED, f"{host!r} is not an address")
    value = numbers[-1]
    for i, n in enumerate(numbers[:-1]):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def is_local_name(host: str) -> bool:
    """A name that only means something inside a network: one label, or a local suffix."""
    return "." not in host or host == "localhost" or host.endswith(LOCAL_SUFFIXES)


def _host(parts: SplitResult) -> str:
    """The host of a split URL, lower case, without brackets or a trailing dot."""
    return (parts.hostname or "").rstrip(".")


def _port(parts: SplitResult) -> int:
    return parts.port or (http.client.HTTPS_PORT if parts.scheme == "https"
                          else http.client.HTTP_PORT)


def _literal(parts: SplitResult) -> IPAddress | None:
    """The address a URL's host is written as, if it is one; None for a host name."""
    host = _host(parts)
    if "[" in parts.netloc:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise RefusedTarget(Refusal.MALFORMED, f"host {host!r}") from None
    literal = numeric_host(host)
    if literal is None and not HOST_NAME.fullmatch(host):
        raise RefusedTarget(Refusal.MALFORMED, f"host name {host!r}")
    return literal


def split_target(url: str, rules: Policy) -> SplitResult:
    """The parts of a webhook URL as the sender reads them; refuses what it will never send
    to: another scheme, credentials, and literal addresses, in every form, that are not
    allowed. What a host name stands for is decided by resolving it (``resolve_allowed``)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        _port(parts)  # raises ValueError for a port that is no port
    except ValueError as err:
        raise RefusedTarget(Refusal.MALFORMED, str(err)) from None
    if parts.scheme not in (("https", "http") if rules.allow_http else ("https",)):
        raise RefusedTarget(Refusal.SCHEME, f"scheme {parts.scheme!r}")
    if "@" in parts.netloc:
        raise RefusedTarget(Refusal.CREDENTIALS, "user or password before the host")
    host = _host(parts)
    if not host or not host.isascii() or any(c in url for c in "\\\t\r\n "):
        raise RefusedTarget(Refusal.MALFORMED, f"host {host!r}")
    literal = _literal(parts)
    if literal is not None and not allowed_address(literal, rules):
        raise RefusedTarget(Refusal.LOCAL, f"address {literal}")
    if literal is not None and literal.version == 4 and host != str(literal):
        raise RefusedTarget(Refusal.NUMERIC, f"{host!r} is written {literal}")
    return parts


def check_target(url: str, rules: Policy, any_host: bool) -> None:
    """The rules for saving a channel: a URL the sender accepts, not a local name, and, unless
    the person saving may use any public host (an admin), a host on the approved list."""
    parts = split_target(url, rules)
    host = _host(parts)
    if _literal(parts) is None and is_local_name(host):
        raise RefusedTarget(Refusal.LOCAL, f"host name {host!r}")
    if not any_host and host not in rules.approved_hosts:
        raise RefusedTarget(Refusal.NOT_APPROVED, f"host {host!r} is not approved")


def resolve_allowed(host: str, port: int, rules: Policy) -> list[IPAddress]:
    """Every address ``host`` resolves to, refused unless all of them are allowed: a name
    with one private address among public ones is refused, not tried in turn."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise OSError(f"cannot resolve {host!r}: {err}") from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0])
                                   for info in infos))
    bad = [str(ip) for ip in addresses if not allowed_address(ip, rules)]
    if bad or not addresses:
        raise RefusedTarget(Refusal.LOCAL, f"{host!r} resolves to {', '.join(bad)}, not a "
                                           "public address")
    return addresses


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to an address vetted beforehand, whatever DNS says now."""

    def __init__(self, host: str, port: int, address: IPAddress, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((str(self.address), self.port), self.timeout)


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    """The same over TLS, the certificate checked against the host name, not the address."""

    def connect(self) -> None:
        super().connect()
        self.sock = ssl.create_default_context().wrap_socket(self.sock,
                                                             server_hostname=self.host)


def _connect(parts: SplitResult, addresses: list[IPAddress],
             timeout: float) -> _PinnedHTTPConnection:
    """A connection to the first vetted address that answers (as ``create_connection``)."""
    kind = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    host, port = _host(parts), _port(parts)
    error: OSError | None = None
    for address in addresses:
        connection = kind(host, port, address, timeout)
        try:
            connection.connect()
        except OSError as err:
            connection.close()
            error = err
        else:
            return connection
    raise error or OSError("no address to connect to")


def post_json(url: str, body: bytes, rules: Policy, timeout: float,
              headers: Mapping[str, str] | None = None) -> bytes:
    """POST a JSON body to a vetted webhook and return the reply; raises RefusedTarget
    before connecting to anything not allowed, and on a redirect (never followed), and
    OSError or RuntimeError when the receiver cannot be reached or answers an error."""
    parts = split_target(url, rules)
    connection = _connect(parts, resolve_allowed(_host(parts), _port(parts), rules), timeout)
    try:
        path = parts.path or "/"
        connection.request("POST", f"{path}?{parts.query}" if parts.query else path, body,
                           headers={**(headers or {}), "Content-Type": "application/json"})
        response = connection.getresponse()
        reply = response.read(REPLY_LIMIT)
    finally:
        connection.close()
    if 300 <= response.status < 400:
        location = response.getheader("Location", "")
        raise RefusedTarget(Refusal.REDIRECT,
                            f"HTTP {response.status} to {location!r} not followed")
    if response.status >= 400:
        raise RuntimeError(f"HTTP {response.status} {response.reason}")
    return reply
