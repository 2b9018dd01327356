# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SSH connections from /proc: the kernel's TCP tables, sshd's sockets, SSH_CONNECTION."""

from __future__ import annotations

import os

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _sshd

HEADER = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid"
          "  timeout inode\n")
# Lines as this kernel printed them (an sshd on port 2222 in a network namespace, a client
# at 198.18.7.1 connected to its secondary address 198.18.7.3).
TCP = HEADER + (
    "   0: 00000000:08AE 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
    "66496 1 000000000ef8e590 100 0 0 10 0\n"
    "   1: 030712C6:08AE 010712C6:CD7C 01 00000000:00000000 02:000AFBD8 00000000     0        0 "
    "65329 2 00000000d08416a3 20 4 14 21 -1\n"
    "   2: 030712C6:D431 010712C6:0050 06 00000000:00000000 03:00001770 00000000     0        0 "
    "0 3 0000000000000000\n")
# ::1 LISTEN on 56459, an IPv4-mapped connection ::ffff:127.0.0.1:54515 <- :53778, and
# (hand-encoded from the kernel's rule: each 32-bit word in host order) 2001:db8::4 port 22.
TCP6 = HEADER + (
    "   0: 00000000000000000000000001000000:DC8B 00000000000000000000000000000000:0000 0A "
    "00000000:00000000 00:00000000 00000000     0        0 164224 1 0000000080f8467f 100 0 0 10 0\n"
    "   2: 0000000000000000FFFF00000100007F:D4F3 0000000000000000FFFF00000100007F:D212 01 "
    "00000000:00000000 00:00000000 00000000     0        0 164223 1 00000000db33200d 20 0 0 10 -1\n"
    "   3: B80D0120000000000000000004000000:0016 B80D0120000000000000000009000000:C350 01 "
    "00000000:00000000 00:00000000 00000000     0        0 7001 1 00000000db33200d 20 0 0 10 -1\n")


def fake_proc(root, tcp=TCP, tcp6=TCP6, processes=()):
    """A /proc with net/tcp{,6} and processes (pid, comm, [socket inodes])."""
    os.makedirs(os.path.join(root, "net"))
    for name, text in (("tcp", tcp), ("tcp6", tcp6)):
        if text is not None:
            with open(os.path.join(root, "net", name), "w") as handle:
                handle.write(text)
    for pid, comm, inodes in processes:
        fds = os.path.join(root, str(pid), "fd")
        os.makedirs(fds)
        with open(os.path.join(root, str(pid), "comm"), "w") as handle:
            handle.write(comm + "\n")
        os.symlink("/dev/null", os.path.join(fds, "0"))
        for number, inode in enumerate(inodes, 3):
            os.symlink("socket:[%d]" % inode, os.path.join(fds, str(number)))
    os.makedirs(os.path.join(root, "self"))
    return str(root)


SSHD = [(100, "sshd", [66496]), (200, "sshd", [65329]), (300, "nginx", [7001])]


def test_addresses_ports_and_states_as_the_kernel_prints_them(tmp_path):
    sockets = _sshd.read_sockets(fake_proc(tmp_path, processes=SSHD))
    assert sockets == [
        _sshd.Socket("LISTEN", "0.0.0.0", 2222, "0.0.0.0", 0, True),
        _sshd.Socket("ESTABLISHED", "198.18.7.3", 2222, "198.18.7.1", 52604, True),
        _sshd.Socket("LISTEN", "::1", 56459, "::", 0, False),
        _sshd.Socket("ESTABLISHED", "127.0.0.1", 54515, "127.0.0.1", 53778, False),
        _sshd.Socket("ESTABLISHED", "2001:db8::4", 22, "2001:db8::9", 50000, False),
    ]  # the TIME_WAIT socket (state 06) is left out


def test_sshd_holds_the_listener_so_its_port_is_known(tmp_path):
    sockets = _sshd.read_sockets(fake_proc(tmp_path, processes=SSHD))
    assert _sshd.listening_ports(sockets) == {2222}
    conns = _sshd.connections(sockets)
    assert [(c.local, c.local_port, c.remote, c.found_by) for c in conns] == [
        ("198.18.7.3", 2222, "198.18.7.1", "sshd's socket")]  # 2001:db8::4:22 is not sshd's port


def test_port_22_is_assumed_when_no_sshd_socket_is_visible(tmp_path):
    """An unprivileged module cannot read root's sshd: established sockets on port 22 count."""
    sockets = _sshd.read_sockets(fake_proc(tmp_path, processes=[(300, "nginx", [7001])]))
    assert _sshd.listening_ports(sockets) == {22}
    conns = _sshd.connections(sockets)
    assert [(c.local, c.remote, c.found_by) for c in conns] == [
        ("2001:db8::4", "2001:db8::9", "a socket on sshd's port 22")]


def test_a_connection_held_by_sshd_counts_on_any_port(tmp_path):
    """The connection's own sshd process (running as the user) is visible without the
    listener; port 22 is still assumed for what cannot be seen."""
    sockets = _sshd.read_sockets(fake_proc(tmp_path, processes=[(200, "sshd-session", [65329])]))
    assert [(c.local, c.found_by) for c in _sshd.connections(sockets)] == [
        ("198.18.7.3", "sshd's socket"), ("2001:db8::4", "a socket on sshd's port 22")]


def test_unreadable_processes_are_skipped(tmp_path):
    root = fake_proc(tmp_path, processes=SSHD)
    os.unlink(os.path.join(root, "100", "comm"))            # vanished
    os.makedirs(os.path.join(root, "4242"))                  # no comm, no fd
    with open(os.path.join(root, "notapid"), "w") as handle:
        handle.write("x")
    os.symlink("socket:[garbage]", os.path.join(root, "200", "fd", "9"))
    assert _sshd.sshd_inodes(root) == {65329}


def test_missing_tcp6_is_ipv6_disabled_but_missing_tcp_is_an_error(tmp_path):
    root = fake_proc(tmp_path / "a", tcp6=None, processes=SSHD)
    assert len(_sshd.read_sockets(root)) == 2
    with pytest.raises(OSError):
        _sshd.read_sockets(fake_proc(tmp_path / "b", tcp=None))


@pytest.mark.parametrize("line", [
    "   0: 030712C6:08AE 010712C6:CD7C 01\n",                    # short
    "   0: 030712C6 010712C6:CD7C 01 0:0 0:0 0 0 0 1 1\n",        # no port
    "   0: 0307ZZC6:08AE 010712C6:CD7C 01 0:0 0:0 0 0 0 1 1\n",   # not hex
    "   0: 0307:08AE 010712C6:CD7C 01 0:0 0:0 0 0 0 1 1\n",       # not an address length
])
def test_garbled_tcp_table_raises_value_error(line):
    with pytest.raises(ValueError):
        _sshd.parse_tcp_table(HEADER + line, set())


def test_ssh_connection_adds_its_connection_once():
    environ = {"SSH_CONNECTION": "198.18.7.1 52604 198.18.7.3 2222"}
    conn = _sshd.connections([], environ)
    assert conn == [_sshd.Connection("198.18.7.3", 2222, "198.18.7.1", 52604, "SSH_CONNECTION")]
    seen = [_sshd.Socket("ESTABLISHED", "198.18.7.3", 2222, "198.18.7.1", 52604, True)]
    assert [c.found_by for c in _sshd.connections(seen, environ)] == ["sshd's socket"]


def test_ssh_connection_link_local_scope_names_the_interface():
    conn = _sshd.from_ssh_connection("fe80::1%eth1 40000 fe80::20d:3aff:fe5e:1%eth1 22")
    assert (conn.local, conn.remote, conn.interface) == ("fe80::20d:3aff:fe5e:1", "fe80::1", "eth1")


@pytest.mark.parametrize("value", ["", "   "])
def test_empty_ssh_connection_is_no_connection(value):
    assert _sshd.connections([], {"SSH_CONNECTION": value}) == []


@pytest.mark.parametrize("value", ["198.18.7.1 52604 198.18.7.3", "a b c d",
                                   "198.18.7.1 x 198.18.7.3 22", "1.2.3.4 1 5.6.7.8 22 extra"])
def test_garbled_ssh_connection_raises_value_error(value):
    with pytest.raises(ValueError):
        _sshd.connections([], {"SSH_CONNECTION": value})
