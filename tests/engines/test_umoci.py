"""skopeo copy docker-archive -> OCI layout, umoci unpack -> bundle, then the runtime
runs the bundle directly (no engine in between)."""

import json
import shutil

import pytest

from conftest import describe, in_script, need, run_cmd


@pytest.fixture(scope="session")
def umoci_bundle(session_dir, image_files):
    need("skopeo", "umoci")
    base = session_dir / "umoci"
    base.mkdir()
    copy = run_cmd(["skopeo", "copy", f"docker-archive:{image_files['archive']}",
                    f"oci:{base / 'layout'}:latest"], timeout=120)
    assert copy.returncode == 0, describe(copy)
    unpack = run_cmd(["umoci", "unpack", "--image", f"{base / 'layout'}:latest",
                      base / "bundle"], timeout=120)
    assert unpack.returncode == 0, describe(unpack)
    return base / "bundle"


@pytest.fixture
def bundle(umoci_bundle, tmp_path):
    """A private copy of the unpacked bundle and a config editor."""
    dest = tmp_path / "bundle"
    shutil.copytree(umoci_bundle, dest, symlinks=True)
    config = dest / "config.json"

    def edit(**process):
        spec = json.loads(config.read_text())
        spec["process"].update(process)
        config.write_text(json.dumps(spec))
        return dest
    return edit


def test_umoci_writes_terminal_true(umoci_bundle):
    spec = json.loads((umoci_bundle / "config.json").read_text())
    assert spec["process"]["terminal"] is True
    assert spec["process"]["args"] == ["/bin/sh"]


def test_run_bundle(runtime, bundle, tmp_path):
    b = bundle(terminal=False, args=["sh", "-c", "echo hi from umoci; hostname; "
                                     "head -1 /etc/passwd; exit 9"])
    root = tmp_path / "state"
    proc = run_cmd([runtime.real, "--root", root, "run", "-b", b, "u1"], timeout=60)
    assert proc.returncode == 9, describe(proc)
    assert proc.stdout == "hi from umoci\numoci-default\nroot:x:0:0:root:/root:/bin/sh\n"
    assert list(root.iterdir()) == [], "state left after run"


def test_run_bundle_with_terminal(runtime, bundle, tmp_path):
    b = bundle(terminal=True, args=["sh", "-c", "tty; exit 4"])
    root = tmp_path / "state"
    proc = in_script(f"{runtime.real} --root {root} run -b {b} u2")
    assert proc.returncode == 4, describe(proc)
    assert "/dev/pts/0" in proc.stdout, describe(proc)
    assert list(root.iterdir()) == [], "state left after run"
