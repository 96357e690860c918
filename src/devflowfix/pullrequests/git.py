"""Real git through subprocess, in a throwaway repository for each fix.

Nothing is ever checked out: changes go straight into the index (`git apply
--cached`; whole files as blobs through `git hash-object`), so symbolic links in
a repository cannot make the service write outside its temporary directory, and
a large repository costs no checkout.

Credentials never appear on a command line or in a file: the token travels as an
`http.<url>.extraHeader` in `GIT_CONFIG_*` environment variables of the network
commands only, and whatever git prints is redacted before it is logged or raised.
Git runs with a minimal environment and no user or system configuration, so a
machine's credential helpers, URL rewrites and hooks play no part.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import structlog

from devflowfix.pullrequests.paths import check_repository_path
from devflowfix.pullrequests.remotes import Remote, redact

log = structlog.get_logger(__name__)

# Variables a git subprocess keeps from the service's environment: the program
# search path and what reaching a remote through a proxy or private CA needs.
PASSED_VARIABLES = (
    "PATH",
    "TMPDIR",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "GIT_SSL_CAINFO",
)
MAX_REASON_CHARS = 2000
REGULAR_FILE = "100644"
EXECUTABLE_FILE = "100755"


class GitError(Exception):
    """A git command failed; the message is git's own reason, redacted."""


class PatchDoesNotApply(GitError):
    """The patch does not apply to the branch it is meant for."""


@dataclass(frozen=True)
class Identity:
    """Author and committer of the fix commits."""

    name: str
    email: str


@dataclass(frozen=True)
class RemoteRefs:
    """What the remote has: its default branch and the tips of the asked heads."""

    default_branch: str | None
    heads: dict[str, str]


class Workspace:
    """A fresh repository with the remote as `origin` and an empty work tree."""

    def __init__(
        self,
        directory: Path,
        remote: Remote,
        identity: Identity,
        *,
        timeout_seconds: float,
    ) -> None:
        self.directory = directory
        self.remote = remote
        self.timeout_seconds = timeout_seconds
        self._git = _git_program()
        self._environment = _base_environment(directory, remote, identity)
        self._network_environment = _with_config(
            self._environment, _network_config(remote)
        )

    @classmethod
    @contextmanager
    def create(
        cls,
        remote: Remote,
        identity: Identity,
        *,
        timeout_seconds: float,
        parent: Path | None = None,
    ) -> Iterator[Workspace]:
        """A workspace in a temporary directory that is removed afterwards."""
        if parent is not None:
            parent.mkdir(parents=True, exist_ok=True)

        with tempfile.TemporaryDirectory(prefix="devflowfix-fix-", dir=parent) as path:
            workspace = cls(
                Path(path) / "repository",
                remote,
                identity,
                timeout_seconds=timeout_seconds,
            )

            workspace.directory.mkdir()
            workspace.run("init", "--quiet")
            workspace.run("remote", "add", "origin", remote.url)
            yield workspace

    def run(self, *args: str, network: bool = False, stdin: bytes | None = None) -> str:
        """Run one git command in the workspace and return its standard output."""
        started = time.perf_counter()
        returncode, stdout, stderr = self._communicate(args, network, stdin)
        seconds = round(time.perf_counter() - started, 3)
        log.debug("git.command", command=args[0], status=returncode, seconds=seconds)

        if returncode != 0:
            reason = self.reason(stderr or stdout)
            log.info("git.failed", command=args[0], seconds=seconds, reason=reason)
            raise GitError(f"git {args[0]} failed: {reason}")

        return stdout.decode("utf-8", errors="replace")

    def _communicate(
        self, args: Sequence[str], network: bool, stdin: bytes | None
    ) -> tuple[int, bytes, bytes]:
        # No shell, and every argument is ours or validated (paths, branches). A
        # session of its own lets a timeout stop git's helpers (git-remote-https)
        # along with git.
        with subprocess.Popen(  # noqa: S603
            [self._git, *args],
            cwd=self.directory,
            env=self._network_environment if network else self._environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        ) as process:
            try:
                stdout, stderr = process.communicate(stdin, self.timeout_seconds)
            except subprocess.TimeoutExpired as exc:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
                raise GitError(
                    f"git {args[0]} did not finish within {self.timeout_seconds:g} s "
                    "(DEVFLOWFIX_GIT_TIMEOUT_SECONDS)"
                ) from exc

        return process.returncode, stdout, stderr

    def reason(self, output: bytes) -> str:
        """Git's message, without hints and secrets, cut to a readable length."""
        lines = output.decode("utf-8", errors="replace").splitlines()
        kept = [line.strip() for line in lines if line.strip()]
        kept = [line for line in kept if not line.startswith("hint:")]

        # The temporary directory's name says nothing to a user.
        text = "; ".join(kept).replace(str(self.directory), "<workspace>")
        text = redact(text, self.remote.secrets) or "no message"
        return text[-MAX_REASON_CHARS:]

    def remote_refs(self, branches: Sequence[str]) -> RemoteRefs:
        """The remote's default branch and the tips of `branches` it has."""
        patterns = ["HEAD", *(f"refs/heads/{branch}" for branch in branches)]
        output = self.run("ls-remote", "--symref", "origin", *patterns, network=True)

        default_branch = None
        heads: dict[str, str] = {}
        for line in output.splitlines():
            value, _, ref = line.partition("\t")
            if value.startswith("ref: refs/heads/") and ref == "HEAD":
                default_branch = value.removeprefix("ref: refs/heads/")
            elif ref.startswith("refs/heads/"):
                heads[ref.removeprefix("refs/heads/")] = value

        return RemoteRefs(default_branch, heads)

    def fetch(self, branches: Sequence[str]) -> dict[str, str]:
        """Fetch the tip commit of each branch (depth 1); return their commits."""
        refspecs = [
            f"+refs/heads/{branch}:refs/remotes/origin/{branch}" for branch in branches
        ]
        self.run(
            "fetch", "--quiet", "--no-tags", "--depth=1", "origin", *refspecs,
            network=True,
        )  # fmt: skip

        return {
            branch: self.run("rev-parse", f"refs/remotes/origin/{branch}").strip()
            for branch in branches
        }

    def load_tree(self, commit: str) -> None:
        """Make the index hold the tree of `commit`."""
        self.run("read-tree", commit)

    def apply_patch(self, patch: str, *, may_be_applied: bool) -> bool:
        """Apply a unified diff to the index; False when it was applied before.

        With `may_be_applied`, a patch that does not apply but whose reverse
        does is taken as already there (a branch made by an earlier run).
        """
        data = patch.encode("utf-8")
        if not data.endswith(b"\n"):
            data += b"\n"

        try:
            self.run("apply", "--cached", "--whitespace=nowarn", "-", stdin=data)
        except GitError as exc:
            if may_be_applied and self._applies_in_reverse(data):
                return False
            reason = str(exc).removeprefix("git apply failed: ")
            raise PatchDoesNotApply(f"The patch does not apply: {reason}") from exc

        return True

    def _applies_in_reverse(self, data: bytes) -> bool:
        try:
            self.run("apply", "--cached", "--check", "--reverse", "-", stdin=data)
        except GitError:
            return False
        return True

    def write_files(self, files: Mapping[str, str]) -> None:
        """Put whole files into the index, keeping the executable bit they had."""
        for path in files:
            # `update-index` would skip a .git path without a word; refuse it.
            try:
                check_repository_path(path)
            except ValueError as exc:
                raise GitError(f"cannot write {path!r}: {exc}") from exc

        modes = self._index_modes(list(files))
        entries = []
        for path, content in files.items():
            blob = self.run(
                "hash-object", "-w", "--no-filters", "--stdin",
                stdin=content.encode("utf-8"),
            ).strip()  # fmt: skip
            executable = modes.get(path) == EXECUTABLE_FILE
            mode = EXECUTABLE_FILE if executable else REGULAR_FILE
            entries.append(f"{mode} {blob}\t{path}\0")

        self.run(
            "update-index", "-z", "--add", "--replace", "--index-info",
            stdin="".join(entries).encode("utf-8"),
        )  # fmt: skip

    def _index_modes(self, paths: Sequence[str]) -> dict[str, str]:
        output = self.run("ls-files", "-z", "--stage", "--", *paths)

        modes = {}
        for entry in output.split("\0"):
            if entry:
                details, _, path = entry.partition("\t")
                modes[path] = details.split(" ", 1)[0]
        return modes

    def index_tree(self) -> str:
        """The tree the index holds now."""
        return self.run("write-tree").strip()

    def tree_of(self, commit: str) -> str:
        return self.run("rev-parse", f"{commit}^{{tree}}").strip()

    def changed_paths(self, old_tree: str, new_tree: str) -> list[str]:
        """The paths that differ between two trees, in git's order."""
        output = self.run("diff-tree", "-r", "-z", "--name-only", old_tree, new_tree)
        return [path for path in output.split("\0") if path]

    def commit(self, tree: str, parent: str, message: str) -> str:
        """A commit of `tree` on top of `parent`; its id."""
        return self.run(
            "commit-tree", tree, "-p", parent, "-F", "-", stdin=message.encode("utf-8")
        ).strip()

    def push(self, commit: str, branch: str) -> None:
        """Push `commit` as `branch`; only a fast-forward of an existing branch."""
        self.run(
            "push", "--quiet", "origin", f"{commit}:refs/heads/{branch}", network=True
        )

    def read_file(self, commit: str, path: str) -> str | None:
        """The text of a file at `commit`, or None when there is no such file."""
        try:
            data = self.run("cat-file", "blob", f"{commit}:{path}")
        except GitError:
            return None
        return data

    def list_files(self, commit: str) -> list[str]:
        """Every file path of the tree of `commit`."""
        output = self.run("ls-tree", "-r", "-z", "--name-only", commit)
        return [path for path in output.split("\0") if path]


def _git_program() -> str:
    program = shutil.which("git")
    if program is None:
        raise GitError("git is not installed on this server")
    return program


def _base_environment(
    directory: Path, remote: Remote, identity: Identity
) -> dict[str, str]:
    environment = {
        name: os.environ[name] for name in PASSED_VARIABLES if name in os.environ
    }
    environment.setdefault("PATH", os.defpath)

    environment.update(
        {
            "HOME": str(directory.parent),
            "LC_ALL": "C",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ALLOW_PROTOCOL": _protocol_of(remote.url),
            "GIT_AUTHOR_NAME": identity.name,
            "GIT_AUTHOR_EMAIL": identity.email,
            "GIT_COMMITTER_NAME": identity.name,
            "GIT_COMMITTER_EMAIL": identity.email,
        }
    )

    return _with_config(
        environment,
        {
            # An empty helper clears the list, so no stored password is offered.
            "credential.helper": "",
            "core.hooksPath": os.devnull,
            "gc.auto": "0",
            "transfer.fsckObjects": "true",
        },
    )


def _network_config(remote: Remote) -> dict[str, str]:
    header = remote.auth_header
    if header is None:
        return {}
    # Scoped to the remote's URL: git sends it to that remote and nowhere else.
    return {f"http.{remote.url}.extraHeader": header}


def _with_config(
    environment: Mapping[str, str], config: Mapping[str, str]
) -> dict[str, str]:
    result = dict(environment)
    start = int(result.get("GIT_CONFIG_COUNT", "0"))
    for offset, (key, value) in enumerate(config.items()):
        result[f"GIT_CONFIG_KEY_{start + offset}"] = key
        result[f"GIT_CONFIG_VALUE_{start + offset}"] = value
    result["GIT_CONFIG_COUNT"] = str(start + len(config))
    return result


def _protocol_of(url: str) -> str:
    # Only the remote's own transport is allowed, so a redirect or a submodule
    # cannot switch git to another one (ssh, ext, a local path).
    scheme = urlsplit(url).scheme
    return scheme if scheme in {"https", "http"} else "file"
