# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The SSH connections this host serves, found in /proc without help from the environment.

A play's connection may not show in the module's environment (sudo's env_reset drops
SSH_CONNECTION, a ControlMaster reuses one connection for many tasks), but the kernel
knows it:

1. ``/proc/net/tcp`` and ``/proc/net/tcp6`` list the TCP sockets of the module's network
   namespace with their inode (IPv4-mapped IPv6 addresses are read as IPv4).
2. A socket is *sshd's* when a process whose name (``/proc/<pid>/comm``) is an SSH daemon's
   (``sshd``; OpenSSH >= 9.8 also ``sshd-session``, ``sshd-auth``) holds it: the listener
   holds the LISTEN sockets, each connection's ``sshd: user@...`` processes hold the
   established one (it runs as the logged-in user, so even an unprivileged module sees it).
3. sshd's listening ports are the ports of sshd's LISTEN sockets; when none is visible
   (sshd is root's and the module is not, or sshd runs elsewhere) port 22 is assumed.
4. An SSH connection is an ESTABLISHED socket that sshd holds, or whose local port is one of
   sshd's listening ports.

``SSH_CONNECTION`` ("client port server port", IPv6 link-local with ``%interface``) adds its
connection when present. Processes that vanish or hide their fds while being read are skipped;
an unreadable ``/proc/net/tcp`` is an OSError for the caller (the guard then fails closed).
"""

from __future__ import annotations

import ipaddress
import os
import sys
from typing import NamedTuple, Optional

SSH_DAEMONS = frozenset(("sshd", "sshd-session", "sshd-auth"))
DEFAULT_PORT = 22
ESTABLISHED, LISTEN = "ESTABLISHED", "LISTEN"
_STATES = {"01": ESTABLISHED, "0A": LISTEN}


class Socket(NamedTuple):
    """A TCP socket: state, addresses without prefix, and whether an SSH daemon holds it."""

    state: str
    local: str
    local_port: int
    remote: str
    remote_port: int
    sshd: bool


class Connection(NamedTuple):
    """An SSH connection: server (local) and client (remote) ends, and how it was found."""

    local: str
    local_port: int
    remote: str
    remote_port: int
    found_by: str
    interface: Optional[str] = None  # the %scope of a link-local SSH_CONNECTION address


def _address(text):
    """An address of /proc/net/tcp*: each 32-bit word is printed in host byte order."""
    if len(text) not in (8, 32):
        raise ValueError("not an address: %r" % text)
    raw = b"".join(int(text[i:i + 8], 16).to_bytes(4, sys.byteorder) for i in range(0, len(text), 8))
    address = ipaddress.ip_address(raw)
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped or address)


def parse_tcp_table(text, sshd_inodes):
    """Listening and established sockets of one /proc/net/tcp* text (others are left out).

    Raises ValueError on a line that is not the kernel's format.
    """
    found = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 10:
            raise ValueError("short line %r" % line[:80])
        state = _STATES.get(fields[3].upper())
        if state is None:
            continue
        local, local_port = fields[1].split(":")
        remote, remote_port = fields[2].split(":")
        found.append(Socket(state, _address(local), int(local_port, 16), _address(remote),
                            int(remote_port, 16), int(fields[9]) in sshd_inodes))
    return found


def sshd_inodes(proc="/proc"):
    """Inodes of the sockets SSH daemon processes hold (what this process may see of them)."""
    inodes = set()
    for pid in os.listdir(proc):
        if not pid.isdigit():
            continue
        fds = "%s/%s/fd" % (proc, pid)
        try:
            with open("%s/%s/comm" % (proc, pid)) as handle:
                if handle.read().strip() not in SSH_DAEMONS:
                    continue
            links = [os.readlink("%s/%s" % (fds, fd)) for fd in os.listdir(fds)]
        except OSError:
            continue  # gone, or not ours to read
        inodes.update(int(link[8:-1]) for link in links
                      if link.startswith("socket:[") and link[8:-1].isdigit())
    return inodes


def read_sockets(proc="/proc"):
    """Listening and established TCP sockets of this network namespace, sshd's marked.

    /proc/net/tcp6 may be missing (IPv6 disabled); /proc/net/tcp must be readable.
    """
    inodes = sshd_inodes(proc)
    found = []
    for name in ("tcp", "tcp6"):
        try:
            with open("%s/net/%s" % (proc, name)) as handle:
                text = handle.read()
        except FileNotFoundError:
            if name == "tcp":
                raise
            continue
        found.extend(parse_tcp_table(text, inodes))
    return found


def listening_ports(sockets):
    """sshd's listening ports; {22} when no LISTEN socket of an SSH daemon is visible."""
    return set(s.local_port for s in sockets if s.state == LISTEN and s.sshd) or {DEFAULT_PORT}


def connections(sockets, environ=None):
    """The SSH connections among sockets, plus SSH_CONNECTION's (one entry per connection).

    Raises ValueError when SSH_CONNECTION is set but is not "client port server port".
    """
    ports = listening_ports(sockets)
    found = dict(((s.local, s.local_port, s.remote, s.remote_port),
                  Connection(s.local, s.local_port, s.remote, s.remote_port,
                             "sshd's socket" if s.sshd else "a socket on sshd's port %d" % s.local_port))
                 for s in sockets if s.state == ESTABLISHED and (s.sshd or s.local_port in ports))
    value = (environ or {}).get("SSH_CONNECTION", "").strip()
    if value:
        conn = from_ssh_connection(value)
        found.setdefault(conn[:4], conn)
    return list(found.values())


def from_ssh_connection(value):
    """The Connection that SSH_CONNECTION ("client port server port") describes."""
    fields = value.split()
    if len(fields) != 4:
        raise ValueError("SSH_CONNECTION is not 'client port server port': %r" % value[:100])
    client, client_port, server, server_port = fields
    server, _sep, scope = server.partition("%")
    client = client.partition("%")[0]
    return Connection(str(ipaddress.ip_address(server)), int(server_port),
                      str(ipaddress.ip_address(client)), int(client_port), "SSH_CONNECTION",
                      scope or None)
