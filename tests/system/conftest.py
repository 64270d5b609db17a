"""pytest fixtures for the tandem system tests.

Run:  /usr/bin/python3 -m pytest -q tests/system --build-dir build

Fixtures
  build_dir        the CMake build dir (--build-dir, default REPO/build)
  tandemd_bin      path of BUILD/server/tandemd; the test is SKIPPED if it
                   does not exist yet
  tandemd          session-wide tandemd on the test zones (default knobs)
  nsd, knot        session-wide NSD / Knot on the same zones (skipped if the
                   Debian package is not installed)
  server           parametrized over tandemd, nsd, knot (same knobs): one
                   test body proves the expectation on NSD and Knot today and
                   checks tandemd once it exists
  make_server      factory: make_server("knot", identity="hide", ...) starts
                   a private instance with other knobs; stopped at teardown
"""

import os

import pytest

import servers
from servers import SERVER_NAMES, SHARED_KNOBS

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def pytest_addoption(parser):
    parser.addoption("--build-dir", default=os.path.join(REPO, "build"),
                     help="CMake build directory holding server/tandemd "
                          "(default: REPO/build)")


@pytest.fixture(scope="session")
def build_dir(request):
    return os.path.abspath(request.config.getoption("--build-dir"))


def _tandemd_path(build_dir):
    return servers.Tandemd.binary(build_dir)


@pytest.fixture(scope="session")
def tandemd_bin(build_dir):
    path = _tandemd_path(build_dir)
    if not os.access(path, os.X_OK):
        pytest.skip("tandemd not built yet: %s does not exist" % path)
    return path


def _require_peer(name):
    cls = servers.PEERS[name]
    if not os.access(cls.binary(), os.X_OK):
        pytest.skip("%s not installed (%s); run tools/install-deps.sh"
                    % (name, cls.binary()))


def _start(name, workdir, build_dir, **kw):
    if name == "tandemd":
        path = _tandemd_path(build_dir)
        if not os.access(path, os.X_OK):
            pytest.skip("tandemd not built yet: %s does not exist" % path)
        return servers.Tandemd(workdir, build_dir, **kw).start()
    _require_peer(name)
    return servers.PEERS[name](workdir, **kw).start()


class _Shared:
    """Session-wide server instances, started lazily, stopped at the end.
    A server that died during the session fails the teardown loudly."""

    def __init__(self, tmp_factory, build_dir):
        self.tmp_factory = tmp_factory
        self.build_dir = build_dir
        self.instances = {}

    def get(self, name):
        inst = self.instances.get(name)
        if inst is None:
            workdir = self.tmp_factory.mktemp("shared-" + name)
            inst = _start(name, workdir, self.build_dir, **SHARED_KNOBS)
            self.instances[name] = inst
        inst.check_alive()
        return inst

    def stop_all(self):
        errors = []
        for inst in self.instances.values():
            try:
                inst.stop(check=True)
            except AssertionError as e:
                errors.append(str(e))
        if errors:
            pytest.fail("\n\n".join(errors), pytrace=False)


@pytest.fixture(scope="session")
def shared_servers(tmp_path_factory, build_dir):
    shared = _Shared(tmp_path_factory, build_dir)
    yield shared
    shared.stop_all()


@pytest.fixture
def tandemd(shared_servers):
    srv = shared_servers.get("tandemd")
    yield srv
    srv.check_alive()


@pytest.fixture
def nsd(shared_servers):
    srv = shared_servers.get("nsd")
    yield srv
    srv.check_alive()


@pytest.fixture
def knot(shared_servers):
    srv = shared_servers.get("knot")
    yield srv
    srv.check_alive()


@pytest.fixture(params=SERVER_NAMES)
def server(request, shared_servers):
    """The same test against tandemd, NSD and Knot; after the test the
    server must still be alive (no crash on whatever the test sent)."""
    srv = shared_servers.get(request.param)
    yield srv
    srv.check_alive()


@pytest.fixture
def make_server(tmp_path, build_dir):
    """Start a private server with its own knobs:
    make_server("nsd", identity="hide").  Stopped (and checked for an
    unexpected death) at teardown."""
    started = []

    def make(name, **kw):
        knobs = dict(SHARED_KNOBS)
        knobs.update(kw)
        workdir = tmp_path / ("%s-%d" % (name, len(started)))
        srv = _start(name, workdir, build_dir, **knobs)
        started.append(srv)
        return srv

    yield make
    errors = []
    for srv in started:
        try:
            srv.stop(check=True)
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("\n\n".join(errors), pytrace=False)
