"""The client's address: the peer's, or x-forwarded-for's last entry when the peer is a
trusted proxy."""

from __future__ import annotations

import pytest

from user_service.caller import parse_networks, peer_ip, resolve

ENVOY = parse_networks("10.0.0.0/8, fd00::/8")


@pytest.mark.parametrize(
    ("peer", "ip"),
    [("ipv4:10.1.2.3:5555", "10.1.2.3"), ("ipv6:[::1]:5555", "::1"), ("ipv6:[fe80::1%eth0]:1", "fe80::1")],
)
def test_the_peer_string_gives_its_ip(peer, ip):
    assert peer_ip(peer) == ip


def test_a_trusted_proxy_names_the_client():
    assert resolve("ipv4:10.1.2.3:5555", "203.0.113.9", ENVOY) == "203.0.113.9"
    assert resolve("ipv6:[fd00::5]:1", "198.51.100.1, 203.0.113.9", ENVOY) == "203.0.113.9"


def test_a_header_envoy_did_not_write_is_not_believed():
    assert resolve("ipv4:192.0.2.10:5555", "203.0.113.9", ENVOY) == "192.0.2.10"
    assert resolve("ipv4:10.1.2.3:5555", "203.0.113.9", ()) == "10.1.2.3"


def test_garbage_in_the_header_is_skipped():
    assert resolve("ipv4:10.1.2.3:5555", "203.0.113.9, not-an-ip", ENVOY) == "203.0.113.9"
    assert resolve("ipv4:10.1.2.3:5555", "junk", ENVOY) == "10.1.2.3"


def test_bad_networks_are_named():
    with pytest.raises(ValueError, match=r"'10\.0\.0\.300'"):
        parse_networks("10.0.0.0/8, 10.0.0.300")
