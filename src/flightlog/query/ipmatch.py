"""``ip("...")`` matching of LogQL: an address, a CIDR block or a ``first-last`` range.

Line filters look for any IPv4/IPv6 address in the line; label filters parse the label
value. Both use the standard library's ``ipaddress`` (no regex over user input).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

__all__ = ["IpMatcher", "parse_ip_pattern"]

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpMatcher = Callable[[IpAddress], bool]

# Candidates: dotted quads and colon-hex groups; each is then parsed for real.
_IPV4 = re.compile(r"(?<![0-9.])\d{1,3}(?:\.\d{1,3}){3}(?![0-9])")
_IPV6 = re.compile(r"(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}")


def parse_ip_pattern(pattern: str) -> IpMatcher:
    """A predicate over addresses; raise ``ValueError`` naming the bad pattern."""
    text = pattern.strip()
    try:
        if "-" in text:
            first_text, last_text = (part.strip() for part in text.split("-", 1))
            first, last = ipaddress.ip_address(first_text), ipaddress.ip_address(last_text)
            if first.version != last.version or first > last:
                raise ValueError("range ends differ in version or are reversed")
            return lambda address: address.version == first.version and first <= address <= last  # type: ignore[operator]
        if "/" in text:
            network = ipaddress.ip_network(text, strict=False)
            return lambda address: address.version == network.version and address in network
        single = ipaddress.ip_address(text)
        return lambda address: address == single
    except ValueError as exc:
        raise ValueError(
            f"invalid ip pattern {pattern!r} ({exc}): use an address, a CIDR such as 10.0.0.0/8, or a range a-b"
        ) from None


def addresses_in(line: str) -> list[IpAddress]:
    found: list[IpAddress] = []
    for token in _IPV4.findall(line):
        try:
            found.append(ipaddress.ip_address(token))
        except ValueError:
            continue
    for token in _IPV6.findall(line):
        for candidate in (token, token.rstrip(":")):
            try:
                found.append(ipaddress.ip_address(candidate))
                break
            except ValueError:
                continue
    return found


def parse_address(value: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None
