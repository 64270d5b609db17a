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
  tandem_features  what this tandemd can do (tandemfeatures.py), probed once
  need             need("axfr_out", ...): skip unless tandemd has them

The summary lists the probed features and, for tests marked interop,
the matrix of tandemd x peer and a line "interop: N passed, N failed, N
skipped".
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
        servers.stop_all(self.instances.values())


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
def started():
    """The servers a test starts (it appends them), stopped at teardown,
    last started first (secondaries before their primaries), and checked
    (servers.stop_all)."""
    lst = []
    yield lst
    servers.stop_all(list(reversed(lst)))


@pytest.fixture
def nodes(started):
    """Another name for `started`."""
    return started


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
    servers.stop_all(started)


# ---- replication features (issues 4-6) ------------------------------------

import tandemfeatures  # noqa: E402

_features = {}


@pytest.fixture(scope="session")
def tandem_features(tmp_path_factory, build_dir):
    """tandemfeatures.Features for this build, probed once per session."""
    f = _features.get(build_dir)
    if f is None:
        f = tandemfeatures.Features(build_dir,
                                    tmp_path_factory.mktemp("features"))
        _features[build_dir] = f
    return f


@pytest.fixture
def need(tandem_features, tandemd_bin):
    """need("axfr_out", "tsig"): skip the test (with the reason) unless
    this tandemd has every named feature; fail instead for the features
    listed in TANDEM_REQUIRE_FEATURES."""
    def check(*names):
        req = tandemfeatures.required()
        for n in names:
            ok, why = tandem_features.get(n)
            if ok:
                continue
            if n in req:
                pytest.fail("tandemd lacks %s: %s" % (n, why), pytrace=False)
            pytest.skip("tandemd lacks %s: %s" % (n, why))
    return check


_interop = {}      # (test name, peer) -> "passed" / "failed" / "skipped"


def pytest_runtest_logreport(report):
    """Collect the outcome of every @pytest.mark.interop test."""
    if "interop" not in report.keywords:
        return
    name, _, param = report.nodeid.split("::")[-1].partition("[")
    key = (name, param.rstrip("]"))
    if report.when == "call" or (report.when == "setup" and
                                 not report.passed):
        _interop[key] = report.outcome
    elif report.when == "teardown" and report.failed:
        _interop[key] = "failed"


def pytest_terminal_summary(terminalreporter):
    lines = []
    for f in _features.values():
        lines += f.summary()
    if lines:
        terminalreporter.write_sep("-", "tandemd features probed")
        for l in lines:
            terminalreporter.write_line(l)
    if _interop:
        peers = sorted({p for _, p in _interop})
        tests = sorted({t for t, _ in _interop})
        terminalreporter.write_sep("-", "interop matrix")
        w = max(len(t) for t in tests)
        terminalreporter.write_line("%-*s  %s" % (w, "", "  ".join(
            "%-7s" % p for p in peers)))
        for t in tests:
            terminalreporter.write_line("%-*s  %s" % (w, t, "  ".join(
                "%-7s" % _interop.get((t, p), "-") for p in peers)))
        outcomes = list(_interop.values())
        terminalreporter.write_line("interop: %d passed, %d failed, %d "
                                    "skipped" % (outcomes.count("passed"),
                                                 outcomes.count("failed"),
                                                 outcomes.count("skipped")))
