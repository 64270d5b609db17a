"""The hand-written test zones are valid for every implementation: NSD's
nsd-checkzone, BIND's named-checkzone, Knot's kzonecheck (or knotc
zone-check when kzonecheck is not packaged), and ldns (what tandem's
zonedb/ uses to read zone files)."""

import os
import shutil
import subprocess

import pytest

import servers

ZONES = servers.DEFAULT_ZONES
TIMEOUT = 60


def _run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=TIMEOUT, **kw)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def _tool(name, *dirs):
    for d in dirs or ("/usr/sbin", "/usr/bin"):
        path = os.path.join(d, name)
        if os.access(path, os.X_OK):
            return path
    path = shutil.which(name)
    if path is None:
        pytest.skip("%s not installed" % name)
    return path


def _zone_path(fname):
    return os.path.join(servers.ZONES_DIR, fname)


@pytest.mark.parametrize("origin,fname", ZONES)
def test_nsd_checkzone(origin, fname):
    rc, out = _run([_tool("nsd-checkzone"), origin, _zone_path(fname)])
    assert rc == 0, out


@pytest.mark.parametrize("origin,fname", ZONES)
def test_named_checkzone(origin, fname):
    # -k warn: the escape-test owners (weird\.name, sp\032ace, ...) are
    # deliberately not host names; -i local: integrity checks of
    # in-zone targets only: "full" would resolve out-of-zone names
    rc, out = _run([_tool("named-checkzone"), "-k", "warn", "-i", "local",
                    origin, _zone_path(fname)])
    assert rc == 0, out


@pytest.mark.parametrize("origin,fname", ZONES)
def test_knot_checkzone(origin, fname, tmp_path):
    kzonecheck = shutil.which("kzonecheck")
    if kzonecheck:
        rc, out = _run([kzonecheck, "-o", origin, _zone_path(fname)])
        assert rc == 0, out
        return
    knotc = _tool("knotc")
    conf = tmp_path / "knot.conf"
    conf.write_text(
        "server:\n    rundir: \"%s\"\n"
        "database:\n    storage: \"%s\"\n"
        "template:\n  - id: default\n    semantic-checks: on\n"
        "zone:\n  - domain: \"%s\"\n    file: \"%s\"\n"
        % (tmp_path, tmp_path, origin, _zone_path(fname)))
    rc, out = _run([knotc, "-c", str(conf), "zone-check", origin])
    assert rc == 0 and "error" not in out.lower(), out


@pytest.mark.parametrize("origin,fname", ZONES)
def test_ldns_read_zone(origin, fname):
    rc, out = _run([_tool("ldns-read-zone"), "-q", _zone_path(fname)])
    assert rc == 0, out
