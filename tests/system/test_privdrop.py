"""Issue 9, hardening: privilege drop (server: user:, chroot:).

tandemd started as root binds its sockets (here a port below 1024, which
only root may bind), creates the control socket and the storage directory,
then chroots (chroot:) and switches to user: for good.  Proven from /proc:
every thread's real, effective, saved and file-system uid and gid are the
user's, its supplementary groups are the user's, no capability is left, and
/proc/PID/root is the chroot.  What runs after the drop must still work:
queries, `tandemctl reload`, log-reopen, reconfig (one that would need a
new socket is refused with an error line), transfers in whose stored copy,
timers and journal are the user's files, TSIG inside the chroot.  Started as
root without user:, tandemd refuses a storage directory that others can
write.

The tests that start tandemd as root SKIP when not run as root.  They run
as the user `nobody`, in a directory of their own under /tmp (pytest's
temporary directories are private to root, so nobody could not read the
zone files there), removed afterwards.
"""

import os
import pwd
import random
import shutil
import socket
import subprocess
import tempfile

import pytest

import dnsclient
import servers
from replication import (Acl, EditableZone, Key, Remote, TandemdNode,
                         ZoneConf, soa_serial, transfer, wait_serial,
                         wait_until)

RUN_AS = "nobody"
TIMEOUT = 30

need_root = pytest.mark.skipif(
    os.geteuid() != 0,
    reason="the privilege drop needs tandemd started as root (run the "
           "system tests as root, as CI does)")


def _run_as():
    try:
        pw = pwd.getpwnam(RUN_AS)
    except KeyError:
        pytest.skip("no user %r on this machine" % RUN_AS)
    if pw.pw_uid == 0 or pw.pw_gid == 0:
        pytest.skip("user %r has root's uid or gid here" % RUN_AS)
    return pw


@pytest.fixture
def runas():
    return _run_as()


@pytest.fixture
def world():
    """A directory under /tmp that `nobody` can traverse (mode 0755, owned
    by root), removed after the test."""
    d = tempfile.mkdtemp(prefix="tandem-privdrop-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def mkdirs(path, mode=0o755):
    os.makedirs(path, exist_ok=True)
    os.chmod(path, mode)
    return path


def write_zone(zone, serial):
    zone.write(serial)
    os.chmod(zone.path, 0o644)
    return serial


def low_port():
    """A port in 900-1023 free for UDP and TCP on 127.0.0.1: binding it
    needs root, so serving on it proves the sockets were bound before the
    drop."""
    ports = list(range(900, 1024))
    random.shuffle(ports)
    for port in ports:
        if port in servers._used_ports:
            continue
        socks = []
        try:
            for typ in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(socket.AF_INET, typ)
                socks.append(s)
                s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
        servers._used_ports.add(port)
        return port
    pytest.skip("no free port in 900-1023 on 127.0.0.1")


class DropNode(TandemdNode):
    """TandemdNode whose storage directory is left to tandemd to create
    (it hands it to user:), with the control socket inside it."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        os.chmod(self.workdir, 0o755)
        self.ctl_path = os.path.join(self.storage, "tandemd.ctl")
        self.control = True

    def write_config(self):
        self.confpath = os.path.join(self.workdir, "tandemd.conf")
        with open(self.confpath, "w") as f:
            f.write(self.config_text())
        os.chmod(self.confpath, 0o644)

    def pid(self):
        return self.proc.pid


def proc_status(path):
    out = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return out


def assert_dropped(pid, pw, min_threads):
    """/proc/PID/status and every /proc/PID/task/*/status: all four uids
    and gids are the user's, its groups (initgroups) and nothing of root,
    no capability."""
    groups = sorted(set(os.getgrouplist(pw.pw_name, pw.pw_gid)))
    tasks = os.listdir("/proc/%d/task" % pid)
    assert len(tasks) >= min_threads, tasks
    paths = ["/proc/%d/status" % pid] + \
        ["/proc/%d/task/%s/status" % (pid, t) for t in tasks]
    for p in paths:
        st = proc_status(p)
        assert st["Uid"] == [str(pw.pw_uid)] * 4, (p, st["Uid"])
        assert st["Gid"] == [str(pw.pw_gid)] * 4, (p, st["Gid"])
        assert sorted(int(g) for g in st["Groups"]) == groups, \
            (p, st["Groups"])
        for cap in ("CapEff", "CapPrm", "CapAmb"):
            if cap in st:
                assert int(st[cap][0], 16) == 0, (p, cap, st[cap])
    return len(tasks)


def owned_by(path, pw):
    st = os.lstat(path)
    return st.st_uid == pw.pw_uid and st.st_gid == pw.pw_gid


def tandemctl(build_dir, sock, *args):
    p = subprocess.run([TandemdNode.tools(build_dir, "tandemctl"), "-s", sock]
                       + list(args), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=TIMEOUT)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def no_leak_check_in_chroot(monkeypatch):
    """LeakSanitizer (make sanitize) reads /proc/PID/task at exit, which a
    chroot has not: in a sanitizer build it would fail every chrooted
    tandemd.  Leaks are checked by the tests without a chroot."""
    opts = os.environ.get("ASAN_OPTIONS", "")
    monkeypatch.setenv("ASAN_OPTIONS",
                       (opts + ":" if opts else "") + "detect_leaks=0")


def assert_no_errors(node):
    bad = [l for l in node.log_text().splitlines() if " error: " in l]
    assert not bad, "\n".join(bad)


def rewrite_config(node, old, new):
    with open(node.confpath) as f:
        text = f.read()
    assert old in text, (old, text)
    with open(node.confpath, "w") as f:
        f.write(text.replace(old, new))


# ---------------------------------------------------------------- the drop

@need_root
def test_drop_after_binding_a_low_port(tandemd_bin, build_dir, world, runas):
    port = low_port()
    zone = EditableZone(os.path.join(mkdirs(os.path.join(world, "zones")),
                                     "example.com.zone"), "example.com")
    write_zone(zone, 1)
    node = DropNode(os.path.join(world, "node"), build_dir,
                    [ZoneConf("example.com", "primary", file=zone.path)],
                    port=port, workers=2, server_extra=["user: %s" % RUN_AS])
    node.start()
    try:
        pid = node.pid()
        assert_dropped(pid, runas, min_threads=3)   # main + 2 workers
        # answered on the port only root could bind, by nobody's process
        r = dnsclient.query(port, "ns1.example.com", "A")
        assert r.rcode == 0 and r.flag("AA"), r
        r = dnsclient.query(port, "ns1.example.com", "A", tcp=True)
        assert r.rcode == 0 and r.flag("AA"), r
        # tandemd made the storage and the control socket the user's
        assert owned_by(node.storage, runas)
        assert os.stat(node.storage).st_mode & 0o777 == 0o750
        assert owned_by(node.ctl_path, runas)
        # reload after the drop: the zone file is read as nobody
        write_zone(zone, 2)
        rc, out = tandemctl(build_dir, node.ctl_path, "reload")
        assert rc == 0, out
        wait_serial(node, "example.com", 2)
        # the primary's journal of that difference is nobody's
        journal = os.path.join(node.storage, "example.com.journal")
        wait_until(lambda: os.path.exists(journal), 5, what=journal)
        assert owned_by(journal, runas)
        rc, out = tandemctl(build_dir, node.ctl_path, "log-reopen")
        assert rc == 0, out
        rc, out = tandemctl(build_dir, node.ctl_path, "reconfig")
        assert rc == 0, out
        # a reconfig that needs a new socket cannot be done any more
        rewrite_config(node, "listen: 127.0.0.1@%d" % port,
                       "listen: 127.0.0.1@%d\n    listen: 127.0.0.2@%d"
                       % (port, port))
        rc, out = tandemctl(build_dir, node.ctl_path, "reconfig")
        assert rc == 1, out
        assert "can no longer bind" in out and "nothing changed" in out, out
        # neither can user: change
        node.write_config()
        rewrite_config(node, "user: %s" % RUN_AS, "user: daemon")
        rc, out = tandemctl(build_dir, node.ctl_path, "reconfig")
        assert rc == 1, out
        assert "tandemd.conf:" in out and "needs a restart" in out, out
        node.write_config()
        rc, out = tandemctl(build_dir, node.ctl_path, "reconfig")
        assert rc == 0, out
        assert soa_serial(port, "example.com") == 2
        assert_dropped(pid, runas, min_threads=3)
    finally:
        node.stop()
    # removed at stop: the storage is the user's
    assert not os.path.exists(node.ctl_path)
    assert_no_errors(node)


@need_root
def test_transfer_in_writes_storage_as_user(tandemd_bin, build_dir, world,
                                            runas):
    zone = EditableZone(os.path.join(mkdirs(os.path.join(world, "zones")),
                                     "example.net.zone"), "example.net")
    write_zone(zone, 1)
    sec_port = servers.free_port()
    prim = TandemdNode(os.path.join(world, "primary"), build_dir, [
        ZoneConf("example.net", "primary", file=zone.path,
                 notify=[Remote(sec_port)], allow_transfer=[Acl(None)])])
    sec = DropNode(os.path.join(world, "secondary"), build_dir, [
        ZoneConf("example.net", "secondary", primaries=[Remote(prim.port)],
                 allow_notify=[Acl(None)])], port=sec_port,
        server_extra=["user: %s" % RUN_AS],
        timers={"refresh-min": 1, "retry-min": 1})
    prim.start()
    try:
        sec.start()
        try:
            wait_serial(sec, "example.net", 1, timeout=10)
            assert_dropped(sec.pid(), runas, min_threads=3)
            write_zone(zone, 2)
            prim.reload("example.net")          # NOTIFY -> IXFR
            wait_serial(sec, "example.net", 2, timeout=10)
            # the stored copy, the timers and the journal: the user's
            for name in ("example.net.zone", "example.net.timers",
                         "example.net.journal"):
                path = os.path.join(sec.storage, name)
                wait_until(lambda: os.path.exists(path), 5, what=path)
                assert owned_by(path, runas), name
            for name in os.listdir(sec.storage):
                assert owned_by(os.path.join(sec.storage, name), runas), name
            # a retransfer replaces the copy, still as nobody
            ok, lines = sec.retransfer("example.net")
            assert ok, lines
        finally:
            sec.stop()
        # restarted, it serves its stored copy at once
        sec.start()
        wait_serial(sec, "example.net", 2)
        assert_dropped(sec.pid(), runas, min_threads=3)
        sec.stop()
    finally:
        prim.stop()
    assert_no_errors(sec)


@need_root
def test_chroot(tandemd_bin, build_dir, world, runas, monkeypatch):
    """The config, the zone files and the storage inside the chroot,
    written as seen from outside (as NSD): tandemd strips the chroot."""
    no_leak_check_in_chroot(monkeypatch)
    jail = mkdirs(os.path.join(world, "jail"))
    zone = EditableZone(os.path.join(mkdirs(os.path.join(jail, "zones")),
                                     "example.com.zone"), "example.com")
    write_zone(zone, 1)
    key = Key.generate("xfr.example")
    node = DropNode(jail, build_dir, [
        ZoneConf("example.com", "primary", file=zone.path,
                 allow_transfer=[Acl(key)])], keys=[key],
        server_extra=["user: %s" % RUN_AS, "chroot: %s" % jail])
    node.start()
    try:
        pid = node.pid()
        assert os.readlink("/proc/%d/root" % pid) == os.path.realpath(jail)
        assert os.readlink("/proc/%d/cwd" % pid) == os.path.realpath(jail)
        assert_dropped(pid, runas, min_threads=3)
        # TSIG inside the chroot (the crypto libraries were set up before)
        rcode, msgs, rrs = transfer(node.port, "example.com", "AXFR", key=key)
        assert rcode == 0 and len(rrs) > 10, rcode
        st = node.zonestatus("example.com")
        assert st["file"] == "/zones/example.com.zone", st
        write_zone(zone, 2)
        rc, out = tandemctl(build_dir, node.ctl_path, "reload")
        assert rc == 0, out
        wait_serial(node, "example.com", 2)
        # the config is inside the chroot: reconfig reads it there, and
        # again from the config it installed
        for _ in range(2):
            rc, out = tandemctl(build_dir, node.ctl_path, "reconfig")
            assert rc == 0, out
        assert soa_serial(node.port, "example.com") == 2
        for name in os.listdir(node.storage):
            assert owned_by(os.path.join(node.storage, name), runas), name
    finally:
        node.stop()
    assert not os.path.exists(node.ctl_path)   # removed from inside
    assert_no_errors(node)


@need_root
def test_chroot_config_outside(tandemd_bin, build_dir, world, runas,
                               monkeypatch):
    """A config file outside the chroot: tandemd serves, but reconfig
    cannot read it and says so."""
    no_leak_check_in_chroot(monkeypatch)
    jail = mkdirs(os.path.join(world, "jail"))
    zone = EditableZone(os.path.join(mkdirs(os.path.join(jail, "zones")),
                                     "example.com.zone"), "example.com")
    write_zone(zone, 1)
    node = DropNode(os.path.join(world, "outside"), build_dir, [
        ZoneConf("example.com", "primary", file=zone.path)],
        server_extra=["user: %s" % RUN_AS, "chroot: %s" % jail])
    node.storage = os.path.join(jail, "storage")
    node.ctl_path = os.path.join(node.storage, "tandemd.ctl")
    node.start()
    try:
        assert os.readlink("/proc/%d/root" % node.pid()) == \
            os.path.realpath(jail)
        rc, out = tandemctl(build_dir, node.ctl_path, "reconfig")
        assert rc == 1, out
        assert "outside the chroot" in out and "nothing changed" in out, out
        write_zone(zone, 2)
        rc, out = tandemctl(build_dir, node.ctl_path, "reload")
        assert rc == 0, out
        wait_serial(node, "example.com", 2)
    finally:
        node.stop()


# ---------------------------------------------------------------- refusals

def start_fails(tandemd_bin, conf, timeout=TIMEOUT):
    p = subprocess.run([tandemd_bin, "-c", conf], cwd="/",
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def minimal_conf(d, storage, extra=""):
    port = servers.free_port()
    conf = os.path.join(d, "tandemd.conf")
    with open(conf, "w") as f:
        f.write("server:\n    listen: 127.0.0.1@%d\n    workers: 1\n"
                "    storage: %s\n%s" % (port, storage, extra))
    os.chmod(conf, 0o644)
    return conf


@need_root
@pytest.mark.parametrize("where", ["storage", "parent"])
def test_refuses_storage_writable_by_others(tandemd_bin, world, runas, where):
    """As root without user:, a storage directory that a local user could
    change (world-writable itself, or below a world-writable directory
    that is not sticky) stops the start, naming the directory."""
    parent = mkdirs(os.path.join(world, "var"),
                    0o777 if where == "parent" else 0o755)
    storage = mkdirs(os.path.join(parent, "storage"),
                     0o777 if where == "storage" else 0o750)
    conf = minimal_conf(world, storage)
    rc, out = start_fails(tandemd_bin, conf)
    assert rc == 1, out
    bad = storage if where == "storage" else parent
    assert "storage %s: %s is writable by others (mode 0777)" % (
        storage, bad) in out, out
    # group-writable by a group other than root's: refused as well
    os.chmod(bad, 0o775)
    os.chown(bad, 0, runas.pw_gid)
    rc, out = start_fails(tandemd_bin, conf)
    assert rc == 1 and "is writable by its group" in out, out
    # fixed: it starts (and is stopped by PID)
    os.chmod(bad, 0o755)
    p = subprocess.Popen([tandemd_bin, "-c", conf], cwd="/",
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    try:
        ctl = os.path.join(storage, "tandemd.ctl")
        wait_until(lambda: os.path.exists(ctl) or p.poll() is not None, 10,
                   what=ctl)
        assert p.poll() is None, p.stdout.read().decode()
    finally:
        p.terminate()
        p.wait(servers.STOP_TIMEOUT)
    assert p.returncode == 0


@need_root
def test_refuses_storage_owned_by_another_user(tandemd_bin, world, runas):
    storage = mkdirs(os.path.join(world, "storage"), 0o750)
    os.chown(storage, runas.pw_uid, runas.pw_gid)
    conf = minimal_conf(world, storage)        # runs as root: not nobody's
    rc, out = start_fails(tandemd_bin, conf)
    assert rc == 1, out
    assert "%s is owned by uid %d, not by root" % (storage, runas.pw_uid) \
        in out, out


@need_root
def test_refuses_storage_the_user_cannot_write(tandemd_bin, world, runas):
    """With user:, what tandemd writes after the drop must be the user's:
    a root-owned storage, or a root-owned journal in it, is an error
    before serving, never a silent failure at the first transfer."""
    storage = mkdirs(os.path.join(world, "storage"), 0o755)  # root's
    conf = minimal_conf(world, storage, "    user: %s\n" % RUN_AS)
    rc, out = start_fails(tandemd_bin, conf)
    assert rc == 1, out
    assert "storage %s is not writable by user %s" % (storage, RUN_AS) \
        in out, out
    os.chown(storage, runas.pw_uid, runas.pw_gid)
    journal = os.path.join(storage, "example.com.journal")
    with open(journal, "w") as f:
        f.write("x")
    os.chmod(journal, 0o644)
    rc, out = start_fails(tandemd_bin, conf)
    assert rc == 1, out
    assert "storage file %s is not writable by user %s" % (journal, RUN_AS) \
        in out, out


@need_root
def test_refuses_when_chroot_fails(tandemd_bin, world):
    """A chroot that fails at start-up (the directory went away after the
    config check): exit 1 with the reason, never serving as root."""
    jail = mkdirs(os.path.join(world, "jail"))
    port = servers.free_port()
    conf = os.path.join(world, "tandemd.conf")
    with open(conf, "w") as f:
        f.write("server:\n    listen: 127.0.0.1@%d\n    user: %s\n"
                "    chroot: %s\n" % (port, RUN_AS, jail))
    rc, out = check(tandemd_bin, conf)
    assert rc == 0, out
    os.rmdir(jail)
    rc, out = start_fails(tandemd_bin, conf)
    assert rc == 1, out
    assert "chroot %s: No such file or directory" % jail in out, out


@need_root
def test_not_root_cannot_switch_user(tandemd_bin, world, runas):
    """Started as an ordinary user, a user: naming someone else cannot be
    honoured: exit 1 saying so (and a chroot: likewise)."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("no setpriv (util-linux) to start tandemd as %s" % RUN_AS)
    port = servers.free_port()
    for extra, message in (("    user: daemon\n",
                            "must be started as root to switch to it"),
                           ("    chroot: %s\n" % world,
                            "must be started as root to chroot")):
        conf = os.path.join(world, "tandemd.conf")
        with open(conf, "w") as f:
            f.write("server:\n    listen: 127.0.0.1@%d\n%s" % (port, extra))
        os.chmod(conf, 0o644)
        p = subprocess.run([setpriv, "--reuid=%d" % runas.pw_uid,
                            "--regid=%d" % runas.pw_gid, "--clear-groups",
                            tandemd_bin, "-c", conf], cwd="/",
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=TIMEOUT)
        out = p.stdout.decode("utf-8", "replace")
        assert p.returncode == 1, out
        assert message in out, out


# ---------------------------------------------------------------- tandemd -t

def check(tandemd_bin, conf):
    p = subprocess.run([tandemd_bin, "-t", "-c", conf], cwd="/",
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=TIMEOUT)
    return p.returncode, p.stdout.decode("utf-8", "replace")


@pytest.mark.parametrize("line,message", [
    ("user: no-such-user-tandem", "unknown user 'no-such-user-tandem'"),
    ("user: nobody:no-such-group-tandem",
     "unknown group 'no-such-group-tandem'"),
    ("user: root", "user 'root' is root (uid 0)"),
    ("chroot: /no/such/dir", "chroot /no/such/dir: No such file"),
    ("chroot: /etc/passwd", "chroot /etc/passwd: not a directory"),
    ("chroot: /var/empty-tandem/..", None),   # normalized to /var: fine
])
def test_config_check(tandemd_bin, tmp_path, line, message):
    conf = tmp_path / "t.conf"
    conf.write_text("server:\n    listen: 127.0.0.1@53\n    %s\n" % line)
    rc, out = check(tandemd_bin, str(conf))
    if message is None:
        assert rc == 0, out
        return
    assert rc == 1, out
    assert "%s:3: %s" % (conf, message) in out, out


def test_config_check_zone_outside_chroot(tandemd_bin, tmp_path):
    jail = tmp_path / "jail"
    jail.mkdir()
    zone = tmp_path / "example.com.zone"
    shutil.copy(os.path.join(servers.ZONES_DIR, "example.com.zone"), zone)
    conf = tmp_path / "t.conf"
    conf.write_text("server:\n    chroot: jail\n    storage: jail/db\n"
                    "zone:\n    name: example.com\n"
                    "    file: example.com.zone\n")
    rc, out = check(tandemd_bin, str(conf))
    assert rc == 1, out
    assert "%s:6: zone 'example.com': file %s is outside the chroot %s" % (
        conf, zone, jail) in out, out
