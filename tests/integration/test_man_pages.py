"""The man pages in man/ against the husk binary, so that neither can drift.

For every command `husk --help` lists there must be a page man/husk-COMMAND.8, listed in
Makefile.am's dist_man_MANS; every long option `husk COMMAND --help` prints must appear in
that page; every option the page documents (the tags of its OPTIONS section) must appear in
--help or, failing that, be accepted by the binary (see `accepted_by`); and every --option
mentioned anywhere in a page must be a real option of some command. The same holds for
husk.8's GLOBAL OPTIONS and `husk --help`. Every page must render without groff warnings.

The binary is $HUSK (default <repo>/husk; the husk_bin fixture of conftest.py); pages and
Makefile.am are read from the source tree this file lives in.
"""

import functools
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAN_DIR = REPO / "man"
MAKEFILE_AM = REPO / "Makefile.am"

# What counts as a long option in --help output and in a page (after unescaping).
OPTION_RE = re.compile(r"--[a-z][a-z-]+")
# groff escapes that can sit inside or around an option name in the page source.
FONT_ESCAPE_RE = re.compile(r"\\f(?:\[[^\]]*\]|\(..|.)")

MAIN_PAGE_SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "GLOBAL OPTIONS", "COMMANDS",
                      "STATE DIRECTORY", "CONTAINER IDS", "EXIT STATUS", "ENVIRONMENT",
                      "SEE ALSO"]
COMMAND_PAGE_SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS",
                         "EXAMPLES", "SEE ALSO"]


def run_husk(husk, *args, cwd=None):
    return subprocess.run([str(husk), *args], capture_output=True, text=True, timeout=30,
                          cwd=cwd)


def help_text(husk, cmd=None):
    args = [cmd, "--help"] if cmd else ["--help"]
    r = run_husk(husk, *args)
    assert r.returncode == 0, f"husk {' '.join(args)} exited {r.returncode}: {r.stderr}"
    return r.stdout


def options_in(text):
    # A trailing '-' would come from prose like "--foo-based"; it is never part of a name.
    return {m.rstrip("-") for m in OPTION_RE.findall(text)}


def commands_in_help(text):
    """The command names of the "Commands:" block of `husk --help`."""
    lines = text.splitlines()
    start = lines.index("Commands:") + 1
    names = []
    for line in lines[start:]:
        if not line.strip():
            break
        names.append(line.split()[0])
    return names


def unescape(source):
    """Page source to searchable text: drop comments, font escapes and \\&, and turn groff's
    \\- back into '-', so that \\fB\\-\\-bundle\\fR reads as --bundle."""
    lines = [l for l in source.splitlines() if not l.startswith(('.\\"', "'\\\""))]
    text = "\n".join(lines)
    text = FONT_ESCAPE_RE.sub("", text)
    return text.replace("\\&", "").replace("\\-", "-")


def sections(text):
    """{".SH name": [lines]} of an unescaped page."""
    out = {}
    current = None
    for line in text.splitlines():
        if line.startswith(".SH"):
            current = line[3:].strip().strip('"')
            out[current] = []
        elif current is not None:
            out[current].append(line)
    return out


def documented_options(lines):
    """The options an OPTIONS section documents: those in the tag line after each .TP."""
    opts = set()
    for i, line in enumerate(lines):
        if line.strip() == ".TP" and i + 1 < len(lines):
            opts |= options_in(lines[i + 1])
    return opts


def mentions(text, opt):
    return re.search(r"(?<![\w-])" + re.escape(opt) + r"(?![\w-])", text) is not None


def dist_man_pages():
    text = MAKEFILE_AM.read_text()
    m = re.search(r"^dist_man_MANS\s*=((?:[^\n]*\\\n)*[^\n]*)", text, re.M)
    assert m, "Makefile.am has no dist_man_MANS"
    return set(m.group(1).replace("\\\n", " ").split())


def page_path(cmd):
    return MAN_DIR / ("husk.8" if cmd is None else f"husk-{cmd}.8")


def read_page(cmd):
    path = page_path(cmd)
    assert path.is_file(), f"{path.relative_to(REPO)} is missing"
    return unescape(path.read_text())


def accepted_by(husk, cmd, opt, tmp_path):
    """True when the binary accepts opt (for cmd, or globally when cmd is None).

    A parser that knows opt goes on to --help and exits 0 with its usage; one that does not
    fails with "unknown option". An option taking a value is tried as --opt=x. This lets a
    page document what the code implements but --help does not print (runc-compatibility
    options, --help itself on commands whose help text omits it) without ever documenting
    an option that does not exist. It runs in an empty directory: an option that took
    "--help" as its value can do nothing there."""
    prefix = [cmd] if cmd else []
    for form in ([opt, "--help"], [opt + "=x", "--help"]):
        r = run_husk(husk, *prefix, *form, cwd=tmp_path)
        if r.returncode == 0 and r.stdout.startswith("Usage:"):
            return True
    return False


def commands_with_pages(cli):
    """Commands whose page exists: a missing page is reported once, by
    test_every_command_has_a_page_in_dist_man_mans, not again by every check of a page."""
    return [c for c in cli["commands"] if page_path(c).is_file()]


@pytest.fixture(scope="module")
def cli(husk_bin):
    """Everything --help says: commands, global options, and each command's options."""
    main = help_text(husk_bin)
    cmds = commands_in_help(main)
    assert cmds, "husk --help lists no commands"
    per_cmd = {c: options_in(help_text(husk_bin, c)) for c in cmds}
    return {"commands": cmds, "global": options_in(main), "per_cmd": per_cmd,
            "all": functools.reduce(set.union, per_cmd.values(), options_in(main))}


# ------------------------------------------------------------------ which pages exist

def test_every_command_has_a_page_in_dist_man_mans(cli):
    dist = dist_man_pages()
    missing = [c for c in cli["commands"] if not page_path(c).is_file()]
    unlisted = [c for c in cli["commands"] if f"man/husk-{c}.8" not in dist]
    assert not missing, f"no man page for: {missing}"
    assert not unlisted, f"pages missing from dist_man_MANS in Makefile.am: {unlisted}"
    assert "man/husk.8" in dist


def test_no_page_for_a_command_that_does_not_exist(cli):
    stale = sorted(p.name for p in MAN_DIR.glob("husk-*.8")
                   if p.name[len("husk-"):-len(".8")] not in cli["commands"])
    assert not stale, f"pages for commands husk --help does not list: {stale}"


def test_dist_man_mans_lists_only_existing_pages():
    gone = sorted(p for p in dist_man_pages() if not (REPO / p).is_file())
    assert not gone, f"dist_man_MANS names missing files: {gone}"


# ------------------------------------------------------------------ husk.8

def test_main_page_has_its_sections():
    secs = sections(read_page(None))
    missing = [s for s in MAIN_PAGE_SECTIONS if s not in secs]
    assert not missing, f"husk.8 lacks sections {missing}"


def test_main_page_links_every_command(cli):
    text = "\n".join(sections(read_page(None))["COMMANDS"])
    for cmd in cli["commands"]:
        assert re.search(rf"^\.B\s+{re.escape(cmd)}\s*$", text, re.M), \
            f"husk.8 COMMANDS has no entry for {cmd}"
        assert re.search(rf"^\.BR husk-{re.escape(cmd)} \(8\)", text, re.M), \
            f"husk.8 COMMANDS does not link husk-{cmd}(8)"


def test_global_help_options_are_in_main_page(cli):
    page = "\n".join(sections(read_page(None))["GLOBAL OPTIONS"])
    missing = sorted(o for o in cli["global"] if not mentions(page, o))
    assert not missing, f"husk --help prints {missing}, husk.8 GLOBAL OPTIONS does not"


def test_main_page_global_options_are_in_help(cli):
    documented = documented_options(sections(read_page(None))["GLOBAL OPTIONS"])
    assert documented, "husk.8 GLOBAL OPTIONS documents no option"
    extra = sorted(documented - cli["global"])
    assert not extra, f"husk.8 documents global options husk --help does not print: {extra}"


def test_main_page_mentions_only_real_options(cli):
    unknown = sorted(options_in(read_page(None)) - cli["all"])
    assert not unknown, f"husk.8 mentions options no command has: {unknown}"


# ------------------------------------------------------------------ husk-COMMAND.8

def test_command_pages_have_their_sections(cli):
    for cmd in commands_with_pages(cli):
        page = read_page(cmd)
        secs = sections(page)
        missing = [s for s in COMMAND_PAGE_SECTIONS if s not in secs]
        assert not missing, f"husk-{cmd}.8 lacks sections {missing}"
        th = next(l for l in page.splitlines() if l.startswith(".TH"))
        assert th.split()[1:3] == [f"HUSK-{cmd.upper()}", "8"], f"husk-{cmd}.8: {th}"
        name = " ".join(secs["NAME"])
        assert name.startswith(f"husk-{cmd} - "), f"husk-{cmd}.8 NAME is {name!r}"


def test_command_help_options_are_in_page(cli):
    problems = []
    for cmd in commands_with_pages(cli):
        page = read_page(cmd)
        for opt in sorted(cli["per_cmd"][cmd]):
            if not mentions(page, opt):
                problems.append(f"husk {cmd} --help prints {opt}, husk-{cmd}.8 does not")
    assert not problems, "\n".join(problems)


def test_command_page_options_exist(cli, husk_bin, tmp_path):
    problems = []
    for cmd in commands_with_pages(cli):
        documented = documented_options(sections(read_page(cmd)).get("OPTIONS", []))
        if not documented:
            problems.append(f"husk-{cmd}.8 OPTIONS documents no option")
        for opt in sorted(documented - cli["per_cmd"][cmd]):
            if not accepted_by(husk_bin, cmd, opt, tmp_path):
                problems.append(f"husk-{cmd}.8 documents {opt}: not in husk {cmd} --help, "
                                "and husk rejects it")
    assert not problems, "\n".join(problems)


def test_command_pages_mention_only_real_options(cli, husk_bin, tmp_path):
    problems = []
    for cmd in commands_with_pages(cli):
        for opt in sorted(options_in(read_page(cmd)) - cli["all"]):
            if not accepted_by(husk_bin, cmd, opt, tmp_path):
                problems.append(f"husk-{cmd}.8 mentions {opt}: no --help prints it and "
                                f"husk {cmd} rejects it")
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------ rendering

ALL_PAGES = sorted(p.name for p in MAN_DIR.glob("*.8"))


@pytest.mark.parametrize("page", ALL_PAGES)
def test_page_renders_without_warnings(page):
    path = MAN_DIR / page
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "MANWIDTH": "80"}
    if shutil.which("man"):
        cmd = ["man", "--warnings", "-l", "-Tutf8", str(path)]
    elif shutil.which("groff"):
        cmd = ["groff", "-man", "-ww", "-z", "-Tutf8", str(path)]
    else:
        pytest.skip("neither man nor groff is installed")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, f"{' '.join(cmd)} exited {r.returncode}: {r.stderr}"
    assert r.stderr == "", f"{page} renders with warnings:\n{r.stderr}"
