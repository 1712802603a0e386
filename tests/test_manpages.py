#!/usr/bin/env python3
"""test_manpages: coachqd(8) and coachq(1) say what --help says.

Usage: test_manpages.py COACHQD COACHQ COACHQD_8 COACHQ_1 COACHQD_CONF

COACHQD and COACHQ are the built programs, COACHQD_8 and COACHQ_1 the man
pages the build generated from them, COACHQD_CONF the shipped default config
file (packaging/coachqd.conf). Checks, reading each page as groff renders it
for a reader (not its roff source):

  - groff -man -ww and man --warnings report nothing, at 80 and 60 columns;
  - each page has NAME, SYNOPSIS, DESCRIPTION, OPTIONS, COMMANDS, FILES,
    ENVIRONMENT, EXIT STATUS and SEE ALSO;
  - every option of `coachqd --help` is in coachqd(8)'s OPTIONS and the
    other way round; the same for coachq;
  - every coachq command's --help gives its exit status and prints no
    header with nothing under it (an empty "Options:");
  - the commands listed by --help are the page's COMMANDS, and each
    command's options (from `PROGRAM COMMAND --help`) are those of its
    subsection, both ways (the options every command takes are under
    OPTIONS in coachq(1), and named once under COMMANDS in coachqd(8));
  - the config file is what the command named in its header (`coachqd
    --help-config` with the package's paths) prints now, has a key for
    every option, reads back as that command's settings as shipped and once
    every line is uncommented (--check-config), and a wrong line is refused
    naming file and line.

Exit status: 0 pass, 1 a check failed (each failure printed; also when
groff or man is missing: ./dev.sh setup installs groff-base and man-db),
2 usage.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS", "FILES",
            "ENVIRONMENT", "EXIT STATUS", "SEE ALSO"]
OPT_RE = re.compile(r"^(?:-[a-zA-Z], )?(--[a-z0-9][a-z0-9-]*)")
failures = []


def fail(msg):
    failures.append(msg)
    print("test_manpages: FAIL: " + msg, file=sys.stderr)


def run(argv, env=None, expect=0):
    p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    if expect is not None and p.returncode != expect:
        fail("%s exited %d, not %d: %s" % (" ".join(argv), p.returncode, expect,
                                            p.stderr.strip()))
    return p


def render(page):
    """The page as a reader sees it: plain text, one line per line, wide."""
    p = run(["groff", "-man", "-Tascii", "-P-c", "-P-b", "-P-o", "-P-u", "-rLL=250n",
             page])
    return p.stdout.splitlines()


def sections(lines):
    """{section: [lines]} and {subsection title: [lines]} of a rendered page."""
    secs, subs = {}, {}
    sec = sub = None
    for line in lines:
        if line and not line[0].isspace():
            sec, sub = line.strip(), None
            secs.setdefault(sec, [])
            continue
        m = re.match(r"^   (\S.*)$", line)
        if m:
            sub = m.group(1).strip()
            subs[sub] = []
            continue
        if sec is not None:
            (subs[sub] if sub is not None else secs[sec]).append(line)
    return secs, subs


def man_options(lines):
    """Options tagged in a (sub)section: .TP tags start at column 7."""
    found = set()
    for line in lines:
        m = re.match(r"^ {7}(\S.*)$", line)
        if m:
            o = OPT_RE.match(m.group(1))
            if o:
                found.add(o.group(1))
    return found


def help_options(text, stop=None):
    """Options of --help: lines "  --name ..." or "  -x, --name ..."."""
    found = set()
    for line in text.splitlines():
        if stop is not None and line.startswith(stop):
            break
        m = re.match(r"^  (\S.*)$", line)
        if m:
            o = OPT_RE.match(m.group(1))
            if o:
                found.add(o.group(1))
    return found


def words(s):
    """The command's words of "user add ID [x]": its lower-case words."""
    out = []
    for w in s.split():
        if not re.fullmatch(r"[a-z]+", w):
            break
        out.append(w)
    return " ".join(out)


def same(what, a_name, a, b_name, b):
    for x in sorted(a - b):
        fail("%s: %s is in %s but not in %s" % (what, x, a_name, b_name))
    for x in sorted(b - a):
        fail("%s: %s is in %s but not in %s" % (what, x, b_name, a_name))


def check_warnings(page):
    p = run(["groff", "-man", "-ww", "-z", page])
    if p.stderr.strip():
        fail("%s: groff -ww warns: %s" % (page, p.stderr.strip()))
    for width in ("80", "60"):
        env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH=width)
        p = run(["man", "--warnings", "-l", page], env=env)
        if p.stderr.strip():
            fail("%s: man --warnings at %s columns: %s" % (page, width, p.stderr.strip()))


def check_sections(page, secs):
    have = [s for s in secs if s in SECTIONS]
    if have != SECTIONS:
        fail("%s: sections %s, expected %s" % (page, have, SECTIONS))


def check_coachqd(prog, page):
    secs, subs = sections(render(page))
    check_sections(page, secs)
    top = run([prog, "--help"]).stdout
    same("coachqd options", "coachqd --help", help_options(top, stop="Administration"),
         "coachqd(8) OPTIONS", man_options(secs.get("OPTIONS", [])))
    listed = set()
    in_admin = False
    for line in top.splitlines():
        if line.startswith("Administration"):
            in_admin = True
        elif in_admin and re.match(r"^  [a-z]", line):
            listed.add(words(line))
    man_cmds = {words(t[len("coachqd "):]): t for t in subs if t.startswith("coachqd ")}
    same("coachqd commands", "coachqd --help", listed, "coachqd(8) COMMANDS", set(man_cmds))
    if len(listed) < 10:
        fail("coachqd --help lists only %d commands" % len(listed))
    implied = {"--data", "--help"}
    intro = " ".join(secs.get("COMMANDS", []))
    for opt in implied:
        if opt not in intro:
            fail("coachqd(8) COMMANDS does not say that every command takes %s" % opt)
    for cmd in sorted(listed & set(man_cmds)):
        text = run([prog] + cmd.split() + ["--help"]).stdout
        same("coachqd " + cmd, "its --help", help_options(text) - implied,
             "its subsection", man_options(subs[man_cmds[cmd]]))
        if not implied <= help_options(text):
            fail("coachqd %s --help does not list --data and --help" % cmd)


def check_help_text(what, text):
    """A command's --help: no header without lines under it (an empty
    "Options:"), and an "Exit status:" paragraph."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^[A-Z][A-Za-z ]*:$", line) and (
                i + 1 == len(lines) or not lines[i + 1].startswith(" ")):
            fail("%s --help prints an empty %r header" % (what, line))
    if not re.search(r"^Exit status: 0 ", text, re.M):
        fail("%s --help does not give its exit status" % what)


def check_coachq(prog, page):
    secs, subs = sections(render(page))
    check_sections(page, secs)
    top = run([prog, "--help"]).stdout
    common = man_options(secs.get("OPTIONS", []))
    same("coachq options", "coachq --help", help_options(top), "coachq(1) OPTIONS", common)
    listed = set()
    in_cmds = False
    for line in top.splitlines():
        if line.startswith("Commands:"):
            in_cmds = True
        elif in_cmds and not line.startswith(" "):
            in_cmds = False
        elif in_cmds and re.match(r"^  [a-z]", line):
            listed.add(line.split()[0])
    man_cmds = {t.split()[1]: t for t in subs if t.startswith("coachq ")}
    same("coachq commands", "coachq --help", listed, "coachq(1) COMMANDS", set(man_cmds))
    if len(listed) < 10:
        fail("coachq --help lists only %d commands" % len(listed))
    shared = common - {"--version"}
    for cmd in sorted(listed & set(man_cmds)):
        text = run([prog, cmd, "--help"]).stdout
        opts = help_options(text)
        check_help_text("coachq " + cmd, text)
        if not shared <= opts:
            fail("coachq %s --help lacks %s" % (cmd, sorted(shared - opts)))
        same("coachq " + cmd, "its --help", opts - shared, "its subsection",
             man_options(subs[man_cmds[cmd]]))


def check_config(prog, conf):
    shipped = open(conf, encoding="utf-8").read()
    m = re.search(r"^#   coachqd (--help-config.*)$", shipped, re.M)
    if m is None:
        fail("%s does not name the command that made it" % conf)
        return
    flags = shlex.split(m.group(1))[1:]
    generated = run([prog, "--help-config"] + flags).stdout
    if shipped != generated:
        fail("%s differs from what `coachqd %s` prints now; regenerate it with "
             "`build/server/coachqd %s > packaging/coachqd.conf`"
             % (conf, m.group(1), m.group(1)))
    keys = set(re.findall(r"^#?([a-z0-9-]+) =", shipped, re.M))
    settings = help_options(run([prog, "--help"]).stdout, stop="Administration")
    settings -= {"--config", "--check-config", "--help-config", "--help"}
    same("config file keys", "coachqd --help", settings, conf, {"--" + k for k in keys})
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k != "COACHQD_CONFIG"}
        # As shipped: its own settings, the defaults for the lines commented out.
        want = run([prog, "--check-config"] + flags, env=env).stdout
        p = run([prog, "--config", conf, "--check-config"], env=env)
        if p.stdout != want:
            fail("%s as shipped does not read as `coachqd --check-config %s`"
                 % (conf, " ".join(flags)))
        if flags and p.stdout == run([prog, "--check-config"], env=env).stdout:
            fail("%s as shipped changes no setting, though it was made with %s"
                 % (conf, " ".join(flags)))
        # Uncommented, every key with its default value: the same settings.
        path = os.path.join(tmp, "all.conf")
        with open(path, "w", encoding="utf-8") as f:
            f.write(re.sub(r"^#([a-z0-9-]+ =)", r"\1", shipped, flags=re.M))
        p = run([prog, "--config", path, "--check-config"], env=env)
        if p.stdout != want:
            fail("%s uncommented does not read as the same settings" % conf)
        if len(p.stdout.splitlines()) != len(keys) or len(keys) < 30:
            fail("--check-config prints %d settings for %d keys"
                 % (len(p.stdout.splitlines()), len(keys)))
        # The same file through $COACHQD_CONFIG, a flag winning over it.
        p = run([prog, "--check-config", "--listen", "127.0.0.1:0"],
                env=dict(env, COACHQD_CONFIG=path))
        if "listen = 127.0.0.1:0\n" not in p.stdout:
            fail("a flag does not win over $COACHQD_CONFIG")
        # A wrong line is refused, naming the file and the line.
        with open(path, "a", encoding="utf-8") as f:
            f.write("listen = 0.0.0.0:7443\n")
        p = run([prog, "--config", path, "--check-config"], env=env, expect=2)
        n = len(shipped.splitlines()) + 1
        if "%s:%d: key 'listen' given twice" % (path, n) not in p.stderr:
            fail("a key given twice is not refused at %s:%d: %s" % (path, n, p.stderr))


def main():
    if len(sys.argv) == 2 and sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if len(sys.argv) != 6:
        print("usage: test_manpages.py COACHQD COACHQ COACHQD_8 COACHQ_1 COACHQD_CONF\n"
              "Try 'test_manpages.py --help'.", file=sys.stderr)
        return 2
    coachqd, coachq, page8, page1, conf = sys.argv[1:]
    for tool in ("groff", "man"):
        if shutil.which(tool) is None:
            print("test_manpages: %s is not installed; ./dev.sh setup installs groff-base "
                  "and man-db" % tool, file=sys.stderr)
            return 1
    for page in (page8, page1):
        check_warnings(page)
    check_coachqd(coachqd, page8)
    check_coachq(coachq, page1)
    check_config(coachqd, conf)
    if failures:
        print("test_manpages: %d failure(s)" % len(failures), file=sys.stderr)
        return 1
    print("test_manpages: coachqd(8), coachq(1) and coachqd.conf match --help")
    return 0


if __name__ == "__main__":
    sys.exit(main())
