"""tandemd's own command line and config (no NSD/Knot equivalent):
`tandemd -t -c FILE` checks the config and every zone file and exits 0/1;
errors name file:line; relative zone paths are relative to the config
file.  Skipped until BUILD/server/tandemd exists."""

import os
import subprocess

import pytest

import servers

TIMEOUT = 30


def _check(tandemd_bin, conf, cwd="/"):
    p = subprocess.run([tandemd_bin, "-t", "-c", str(conf)], cwd=cwd,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=TIMEOUT)
    return p.returncode, p.stdout.decode("utf-8", "replace")


@pytest.fixture
def confdir(tmp_path, build_dir):
    """A valid tandemd config with the test zones, written by the harness's
    Tandemd class (not started)."""
    t = servers.Tandemd(tmp_path, build_dir)
    t.write_config()
    return t


def test_check_valid_config(tandemd_bin, confdir):
    rc, out = _check(tandemd_bin, confdir.confpath)
    assert rc == 0, out


def test_check_relative_zone_path_from_other_cwd(tandemd_bin, confdir,
                                                 tmp_path):
    other = tmp_path / "elsewhere"
    other.mkdir()
    rc, out = _check(tandemd_bin, confdir.confpath, cwd=str(other))
    assert rc == 0, out


@pytest.mark.parametrize("bad_line", [
    "    no-such-option: 1",
    "    workers: many",
    "    listen: 127.0.0.1@99999",
])
def test_check_config_error_names_file_and_line(tandemd_bin, confdir,
                                                bad_line):
    with open(confdir.confpath) as f:
        lines = f.read().splitlines()
    lines.insert(2, bad_line)             # becomes line 3, in server:
    with open(confdir.confpath, "w") as f:
        f.write("\n".join(lines) + "\n")
    rc, out = _check(tandemd_bin, confdir.confpath)
    assert rc == 1, out
    assert "%s:3" % os.path.basename(confdir.confpath) in out, out


def test_check_missing_zone_file(tandemd_bin, confdir):
    os.remove(confdir.zone_file("example.org.zone"))
    rc, out = _check(tandemd_bin, confdir.confpath)
    assert rc == 1, out
    assert "example.org" in out, out


def test_check_broken_zone_file(tandemd_bin, confdir):
    path = confdir.zone_file("example.org.zone")
    with open(path, "a") as f:
        f.write("broken IN A 300.1.2.3\n")
    rc, out = _check(tandemd_bin, confdir.confpath)
    assert rc == 1, out
    assert "example.org.zone" in out, out


def test_does_not_start_with_bad_config(tandemd_bin, tmp_path, build_dir):
    """A config error at start-up: exit status non-zero, quickly."""
    t = servers.Tandemd(tmp_path, build_dir)
    t.write_config()
    with open(t.confpath, "a") as f:
        f.write("bogus-clause:\n")
    p = subprocess.run([tandemd_bin, "-c", t.confpath], cwd="/",
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=TIMEOUT)
    assert p.returncode != 0, p.stdout
