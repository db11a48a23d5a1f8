"""buildah bud --isolation oci with each runtime: every RUN step is a container
(create, start, state, delete); the built image is then run by podman with the same
runtime and each layer's result is checked."""

import pytest

from conftest import describe, need, run_cmd

DOCKERFILE = """\
FROM localhost/husk-busybox:latest
ENV GREETING="hello from env" LAYER=2
RUN echo layer1 > /layer1.txt && mkdir -p /app
WORKDIR /app
COPY data.txt ./copied.txt
RUN echo "$GREETING" > env.txt && pwd > pwd.txt && cat copied.txt > copy-seen.txt
RUN ["/bin/sh", "-c", "id -u > /app/uid.txt; echo $LAYER > /app/layer.txt"]
CMD ["cat", "/app/env.txt"]
"""


@pytest.fixture
def buildah(podman, tmp_path):
    need("buildah")
    base = podman.base

    def run(*args, timeout=180):
        argv = ["buildah", "--root", base / "root", "--runroot", base / "runroot",
                "--storage-driver", "overlay", *args]
        return run_cmd(argv, timeout=timeout, env=podman.env)
    return run


def commands(calls):
    return [c.split()[0] for c in calls]


def test_bud_and_run(buildah, podman, tmp_path):
    rt = podman.runtime
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    (ctx / "data.txt").write_text("copied data\n")
    tag = f"localhost/built-{rt.name}:latest"
    mark = rt.mark()
    try:
        bud = buildah("bud", "--isolation", "oci", "--runtime", rt.path, "--network", "none",
                      "-t", tag, "-f", ctx / "Dockerfile", ctx)
        assert bud.returncode == 0, describe(bud)
        # three RUN steps, each one create/start/state/delete with no global options
        calls = rt.calls_since(mark)
        assert commands(calls) == ["create", "start", "state", "delete"] * 3, calls
        assert all(" --bundle " in c and " --pid-file " in c
                   for c in calls if c.startswith("create")), calls

        default_cmd = podman.run("--rm", tag)
        assert default_cmd.returncode == 0, describe(default_cmd)
        assert default_cmd.stdout == "hello from env\n"

        check = podman.run("--rm", tag, "sh", "-c",
                           "pwd; echo $GREETING/$LAYER; cat /layer1.txt copied.txt env.txt "
                           "pwd.txt copy-seen.txt uid.txt layer.txt")
        assert check.returncode == 0, describe(check)
        assert check.stdout.split("\n") == [
            "/app", "hello from env/2", "layer1", "copied data", "hello from env", "/app",
            "copied data", "0", "2", ""], describe(check)
    finally:
        podman("rmi", "-f", tag)


def test_bud_failing_run_step(buildah, podman, tmp_path):
    rt = podman.runtime
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM localhost/husk-busybox:latest\n"
                                    "RUN echo before-failure; exit 7\n")
    bud = buildah("bud", "--isolation", "oci", "--runtime", rt.path, "--network", "none",
                  "-t", f"localhost/fail-{rt.name}", "-f", ctx / "Dockerfile", ctx)
    assert bud.returncode != 0, describe(bud)
    assert "before-failure" in bud.stdout, describe(bud)
    assert "exit status 7" in bud.stderr, describe(bud)
    left = buildah("containers", "-q")
    assert left.stdout.strip() == "", describe(left)
