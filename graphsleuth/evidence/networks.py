"""Networks of IP addresses: the /24 of an IPv4 address and the /48 of an IPv6 one, where households,
offices and proxy pools sit together."""

from __future__ import annotations

import ipaddress
import socket

import pandas as pd
import pyarrow.compute as pc

from .tables import arrow_text

__all__ = ["subnet_of"]


def subnet_of(ips: pd.Series) -> pd.Series:
    """The /24 of each IPv4 address and the /48 of each IPv6 address, as CIDR text."""
    text = arrow_text(ips)
    is_v6 = pc.match_substring(text, ":").to_numpy(zero_copy_only=False)
    v4 = pc.replace_substring_regex(text, r"\.[0-9]+$", ".0/24")
    out = pd.Series(v4.to_pandas(types_mapper=pd.ArrowDtype).astype("str").to_numpy(dtype=object), index=ips.index)
    if is_v6.any():
        six = ips[is_v6].astype("str")
        nets = {u: _ipv6_48(u) for u in pd.unique(six)}
        out[is_v6] = six.map(nets).to_numpy()
    return out


def _ipv6_48(address: str) -> str:
    """The /48 network of an IPv6 address as CIDR text, as :mod:`ipaddress` writes it."""
    try:
        prefix = socket.inet_pton(socket.AF_INET6, address)[:6] + bytes(10)
        short = socket.inet_ntop(socket.AF_INET6, prefix)
    except (OSError, ValueError):  # a scope id or another form only ipaddress reads
        return str(ipaddress.ip_network(f"{address}/48", strict=False))
    return f"{short}/48"
