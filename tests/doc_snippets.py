"""The documentation's code, run as written: extraction from the Markdown, and the harnesses
that execute each kind of snippet against a running PlanFuse (tests/host_server.py).

Every fenced code block with a language in README.md, docs/*.md, embed-sdk/PROTOCOL.md and
host-packages/*/README.md carries an HTML comment right above it saying how it runs:

    <!-- snippet: KIND [key=value …] -->

- `shell`: each `$ ` line with the `planfuse` CLI on a fresh database; the lines after it
  are the expected output (JSON: the same members and types).
- `python`: a script, with the host backend's configuration in the environment.
- `host-backend`: a host's web backend (a Flask `app`, an Express server): served; the token
  its token endpoint mints is exchanged at the server, its result endpoint verifies a real
  signed result and refuses another app's and a forged one.
- `backend-functions lang=L`: token and verification functions in Python, Node.js, Java or
  PHP, called through a small driver, with the same checks.
- `host-page`: an HTML page served with the docs' host backend on a second origin and opened
  in Chromium (tests/browser/test_doc_pages.py): the widget reaches `ready`.
- `json`: parsed. `fragment`: code that lives inside something else (a widget bundle, the
  server): syntax-checked (esbuild, Python's compiler). `ci`: the commands CI itself runs.
  `not-run`: only with a reason (a runtime Debian does not have).

The examples' names are replaced before running: `https://planfuse.example.gov.cn` by the
server, `https://portal.example.gov.cn` by the host page's origin, `app_3f9c…` by the app id,
`TOKEN_FROM_YOUR_BACKEND` by a fresh embed token.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted(
    [
        ROOT / "README.md",
        *(ROOT / "docs").glob("*.md"),
        ROOT / "embed-sdk" / "PROTOCOL.md",
        *(ROOT / "host-packages").glob("*/README.md"),
    ]
)
KINDS = {
    "shell",
    "python",
    "host-backend",
    "backend-functions",
    "host-page",
    "json",
    "fragment",
    "ci",
    "not-run",
}
SERVER_EXAMPLE = "https://planfuse.example.gov.cn"
HOST_EXAMPLE = "https://portal.example.gov.cn"
APP_EXAMPLE = "app_3f9c…"
TOKEN_EXAMPLE = "TOKEN_FROM_YOUR_BACKEND"
JACKSON = [
    Path("/usr/share/java") / name
    for name in ("jackson-databind.jar", "jackson-core.jar", "jackson-annotations.jar")
]

_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?:<!-- snippet: (?P<note>.*?) -->\n(?P=indent))?"
    r"```(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.M | re.S,
)


@dataclass
class Snippet:
    path: Path
    line: int
    lang: str
    code: str
    kind: str | None
    options: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    def __str__(self) -> str:
        return f"{self.where} ({self.kind} {self.lang})"

    def filled(self, *, server: str, host: str = HOST_EXAMPLE, app_id: str, token: str = "") -> str:
        """The code with the examples' names replaced by the running ones."""
        code = self.code.replace(SERVER_EXAMPLE, server).replace(HOST_EXAMPLE, host)
        code = code.replace(APP_EXAMPLE, app_id)
        return code.replace(TOKEN_EXAMPLE, token) if token else code


def _options(note: str) -> tuple[str, dict[str, str]]:
    parts = shlex.split(note)
    kind = parts[0] if parts else ""
    return kind, dict(p.split("=", 1) for p in parts[1:] if "=" in p)


def snippets(paths: list[Path] | None = None) -> list[Snippet]:
    """Every fenced code block with a language in the documentation, in order."""
    out = []
    for path in paths or DOCS:
        text = path.read_text("utf-8")
        for match in _FENCE.finditer(text):
            if not match["lang"]:
                continue  # a layout tree or an address template, not code
            indent = match["indent"]
            body = "\n".join(
                line[len(indent) :] if line.startswith(indent) else line
                for line in match["body"].split("\n")
            )
            kind, options = _options(match["note"]) if match["note"] else (None, {})
            line = text.count("\n", 0, match.start("lang")) + 1
            out.append(Snippet(path, line, match["lang"], body.rstrip("\n") + "\n", kind, options))
    return out


def of_kind(kind: str, lang: str | None = None) -> list[Snippet]:
    return [s for s in snippets() if s.kind == kind and (lang is None or s.lang == lang)]


# --- syntax checks ---------------------------------------------------------------------------


def check_syntax(snippet: Snippet) -> None:
    """Raise when a fragment does not even parse."""
    if snippet.lang == "python":
        compile(snippet.code, snippet.where, "exec")
        return
    if snippet.lang in {"js", "javascript"}:
        node = shutil.which("node") or "node"
        script = (
            "const esbuild = require('esbuild');"
            "let src = ''; process.stdin.on('data', (d) => (src += d));"
            "process.stdin.on('end', () => esbuild.transform(src, {loader: 'js', format: 'esm'})"
            ".then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); }));"
        )
        run = subprocess.run(
            [node, "-e", script],
            input=snippet.code,
            text=True,
            capture_output=True,
            cwd=ROOT,
            timeout=60,
        )
        assert run.returncode == 0, f"{snippet}: {run.stderr}"
        return
    raise AssertionError(f"{snippet}: no syntax check for {snippet.lang!r}")


# --- the backend-functions driver --------------------------------------------------------------

#: Per language: the file the snippet is written to, the driver appended or beside it, and the
#: command that runs "token USER" / "verify SIGNED_RESULT" (prints JSON; exits 1 on refusal).
PYTHON_DRIVER = """

if __name__ == "__main__":
    import json as _json
    import sys as _sys

    _verb, _arg = _sys.argv[1], _sys.argv[2]
    try:
        _out = planfuse_token(_arg) if _verb == "token" else verify_result(_arg)
    except Exception as _refused:  # noqa: BLE001 - the refusal is what is tested
        print(f"refused: {_refused}", file=_sys.stderr)
        _sys.exit(1)
    print(_json.dumps(_out, ensure_ascii=False))
"""

NODE_DRIVER = """
import * as snippet from './snippet.mjs';

const [verb, arg] = process.argv.slice(2);
const call = verb === 'token' ? snippet.planfuseToken : snippet.verifyResult;
try {
  console.log(JSON.stringify(await call(arg)));
} catch (e) {
  console.error(`refused: ${e.message}`);
  process.exit(1);
}
"""

JAVA_DRIVER = """
public final class Driver {
    public static void main(String[] args) throws Exception {
        try {
            Object out = args[0].equals("token")
                ? "\\"" + PlanFuse.planfuseToken(args[1]) + "\\""
                : PlanFuse.class.getMethod("verifyResult", String.class)
                    .invoke(null, args[1]).toString();
            System.out.println(out);
        } catch (java.lang.reflect.InvocationTargetException refused) {
            System.err.println("refused: " + refused.getCause().getMessage());
            System.exit(1);
        }
    }
}
"""

PHP_DRIVER = """
try {
    $out = $argv[1] === 'token' ? planfuse_token($argv[2]) : planfuse_verify_result($argv[2]);
} catch (RuntimeException $refused) {
    fwrite(STDERR, 'refused: ' . $refused->getMessage() . PHP_EOL);
    exit(1);
}
echo json_encode($out, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES), PHP_EOL;
"""


def runtime_missing(lang: str) -> str | None:
    """Why backend code in `lang` cannot run here, or None."""
    needs = {
        "python": ["python3"],
        "node": ["node"],
        "java": ["javac", "java"],
        "php": ["php"],
    }.get(lang)
    if needs is None:
        return f"no runtime for {lang}"
    missing = [tool for tool in needs if shutil.which(tool) is None]
    if lang == "java" and not all(p.exists() for p in JACKSON):
        missing.append("libjackson2-databind-java")
    return f"needs {', '.join(missing)} (./bootstrap test installs them)" if missing else None


class BackendFunctions:
    """A snippet's token and verification functions, callable from the test."""

    def __init__(self, code: str, lang: str, workdir: Path, env: dict[str, str]):
        self.lang = lang
        self.env = env
        self.dir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        python = str(Path(__import__("sys").executable))
        if lang == "python":
            (workdir / "snippet.py").write_text(code + PYTHON_DRIVER, "utf-8")
            self.command = [python, "snippet.py"]
        elif lang == "node":
            (workdir / "snippet.mjs").write_text(code, "utf-8")
            (workdir / "driver.mjs").write_text(NODE_DRIVER, "utf-8")
            link = workdir / "node_modules"
            if not link.exists():
                link.symlink_to(ROOT / "node_modules", target_is_directory=True)
            self.command = ["node", "driver.mjs"]
        elif lang == "java":
            (workdir / "PlanFuse.java").write_text(code, "utf-8")
            (workdir / "Driver.java").write_text(JAVA_DRIVER, "utf-8")
            classpath = ":".join(str(p) for p in JACKSON)
            compiled = subprocess.run(
                ["javac", "-encoding", "UTF-8", "-cp", classpath, "PlanFuse.java", "Driver.java"],
                cwd=workdir,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert compiled.returncode == 0, compiled.stderr
            self.command = ["java", "-cp", f"{classpath}:.", "Driver"]
        elif lang == "php":
            (workdir / "snippet.php").write_text(code + PHP_DRIVER, "utf-8")
            self.command = ["php", "snippet.php"]
        else:
            raise AssertionError(f"no driver for {lang}")

    def _run(self, verb: str, arg: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.command, verb, arg],
            cwd=self.dir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def token(self, user_id: str) -> str:
        run = self._run("token", user_id)
        assert run.returncode == 0, run.stderr
        return json.loads(run.stdout)

    def verify(self, signed_result: str) -> dict:
        """The verified report; AssertionError carrying the refusal otherwise."""
        run = self._run("verify", signed_result)
        if run.returncode != 0:
            raise Refused(run.stderr.strip())
        return json.loads(run.stdout)


class Refused(Exception):
    """The snippet refused a signed result (its message says why)."""


def load_flask_backend(snippet, server, tmp_path):
    """The docs' Flask backend as a module (its environment set as the docs say)."""
    path = tmp_path / "host_backend.py"
    path.write_text(snippet.filled(server=server.url, app_id=server.app_id), "utf-8")
    spec = importlib.util.spec_from_file_location(f"host_backend_{snippet.line}", path)
    module = importlib.util.module_from_spec(spec)
    saved = dict(os.environ)
    os.environ.update(server.env())
    try:
        spec.loader.exec_module(module)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return module.app


# --- against a running server ------------------------------------------------------------------


def post(url: str, body: dict, headers: dict | None = None) -> tuple[int, dict]:
    """POST JSON; (status, JSON answer), error statuses included."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        url,
        json.dumps(body).encode(),
        {"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read() or b"{}")


def exchanges(server, token: str, widget: str = "compliance") -> dict:
    """The session the server gives for `token` (asserting it accepts it)."""
    status, session = post(f"{server.url}/embed/session", {"token": token, "widget": widget})
    assert status == 200, session
    return session


def signed_results(server, check: dict) -> dict:
    """Signed results to verify: this app's report (`ours`), another app's JWS (`theirs`),
    and ours with its verdict changed (`forged`)."""
    import base64

    from planfuse_host import PlanFuse

    ours = PlanFuse(server.url, server.app_id, server.secret).call(
        "POST", "compliance/check", check
    )
    other = PlanFuse(server.url, *server.new_app("另一个系统"))
    theirs = other.call("POST", "compliance/check", check)["signature"]["jws"]
    header, payload, signature = ours["signature"]["jws"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["report"]["verdict"] = "pass"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return {"ours": ours, "theirs": theirs, "forged": f"{header}.{forged}.{signature}"}


RENDER = """
import { CODE, SNIPPETS } from './server/admin/assets/embed-code.js';
let input = '';
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', () => {
  const { config, values } = JSON.parse(input);
  const out = { code: {}, snippets: {} };
  for (const [id, [, make]] of Object.entries(CODE)) out.code[id] = make(values, config);
  for (const [id, [, make]] of Object.entries(SNIPPETS)) out.snippets[id] = make(values, config);
  console.log(JSON.stringify(out));
});
"""


def console_code(server, values: dict, server_url: str | None = None) -> dict:
    """What the admin console's embed page writes for `values` ({app, widget, locale, locked,
    unlocked, theme}): its own module (server/admin/assets/embed-code.js), run by Node."""
    from planfuse.widgets.registry import widget_registry

    config = {
        "server": server_url or server.url,
        "audience": server.pf.settings.token_audience,
        "max_ttl_s": server.pf.settings.token_max_lifetime_s,
        "manifest": widget_registry(server.pf).manifest(),
    }
    run = subprocess.run(
        ["node", "--input-type=module", "-e", RENDER],
        input=json.dumps({"config": config, "values": values}),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)
