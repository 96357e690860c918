"""Real git in a throwaway workspace: shallow fetch, index-only changes, push."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from devflowfix.pullrequests.git import GitError, Identity, PatchDoesNotApply, Workspace
from devflowfix.pullrequests.remotes import Provider, Remote
from factories import git, make_git_remote, remote_refs
from forge import FORGE_TOKEN, FakeForge

IDENTITY = Identity("DevFlowFix", "devflowfix@localhost")
PATCH = """\
diff --git a/app.py b/app.py
--- a/app.py
+++ b/app.py
@@ -1,2 +1,2 @@
 def total(values):
-    return sum(values)
+    return sum(values, 0.0)
"""
FIXED_APP = "def total(values):\n    return sum(values, 0.0)\n"


def test_fetch_is_shallow_and_knows_the_default_branch(
    bare_remote: Path, tmp_path: Path
) -> None:
    base = git(bare_remote, "rev-parse", "main").strip()

    with Workspace.create(
        Remote(url=str(bare_remote)), IDENTITY, timeout_seconds=60
    ) as workspace:
        refs = workspace.remote_refs(["main", "devflowfix/fix-x"])
        tips = workspace.fetch(["main"])
        shallow = workspace.run("rev-parse", "--is-shallow-repository").strip()
        files = workspace.list_files(tips["main"])

    assert refs.default_branch == "main"
    assert refs.heads == {"main": base}
    assert tips == {"main": base}
    assert shallow == "true"
    assert files == ["README.md", "app.py"]


def test_patch_lands_in_a_pushed_commit_on_top_of_the_base(
    bare_remote: Path, tmp_path: Path
) -> None:
    base = git(bare_remote, "rev-parse", "main").strip()

    with Workspace.create(
        Remote(url=str(bare_remote)), IDENTITY, timeout_seconds=60
    ) as workspace:
        tips = workspace.fetch(["main"])
        workspace.load_tree(tips["main"])
        changed = workspace.apply_patch(PATCH, may_be_applied=False)
        tree = workspace.index_tree()
        commit = workspace.commit(tree, base, "Fix the sum\n")
        workspace.push(commit, "devflowfix/fix-x")
        directory = workspace.directory

    assert changed is True
    assert remote_refs(bare_remote)["refs/heads/devflowfix/fix-x"] == commit
    assert git(bare_remote, "show", "devflowfix/fix-x:app.py") == FIXED_APP
    assert git(bare_remote, "rev-parse", "devflowfix/fix-x^").strip() == base
    assert git(bare_remote, "log", "-1", "--format=%an <%ae>|%cn|%s", commit) == (
        "DevFlowFix <devflowfix@localhost>|DevFlowFix|Fix the sum\n"
    )
    assert not directory.exists()


def test_patch_that_does_not_apply_fails_with_gits_reason(
    bare_remote: Path, tmp_path: Path
) -> None:
    conflicting = PATCH.replace("-    return sum(values)", "-    return values")

    with Workspace.create(
        Remote(url=str(bare_remote)), IDENTITY, timeout_seconds=60
    ) as workspace:
        workspace.load_tree(workspace.fetch(["main"])["main"])
        with pytest.raises(PatchDoesNotApply) as caught:
            workspace.apply_patch(conflicting, may_be_applied=True)

        unchanged = workspace.index_tree() == workspace.tree_of("origin/main")

    assert str(caught.value) == (
        "The patch does not apply: error: patch failed: app.py:1; "
        "error: app.py: patch does not apply"
    )
    assert unchanged is True


def test_patch_already_on_the_branch_counts_as_applied(
    bare_remote: Path, tmp_path: Path
) -> None:
    with Workspace.create(
        Remote(url=str(bare_remote)), IDENTITY, timeout_seconds=60
    ) as workspace:
        workspace.load_tree(workspace.fetch(["main"])["main"])
        workspace.apply_patch(PATCH, may_be_applied=False)
        again = workspace.apply_patch(PATCH, may_be_applied=True)
        with pytest.raises(PatchDoesNotApply):
            workspace.apply_patch(PATCH, may_be_applied=False)

    assert again is False


def test_whole_files_replace_content_and_keep_the_executable_bit(
    tmp_path: Path,
) -> None:
    remote = make_git_remote(tmp_path / "tools.git", {"run.sh": "echo old\n"})
    seed = tmp_path / "tools.git-seed"
    git(seed, "update-index", "--chmod=+x", "run.sh")
    git(seed, "commit", "--quiet", "-m", "Make run.sh executable")
    git(seed, "push", "--quiet", str(remote), "main")

    with Workspace.create(Remote(url=str(remote)), IDENTITY, timeout_seconds=60) as ws:
        base = ws.fetch(["main"])["main"]
        ws.load_tree(base)
        ws.write_files({"run.sh": "echo new\n", "docs/usage.md": "Run it.\n"})
        tree = ws.index_tree()
        listing = ws.run("ls-tree", "-r", tree)
        changed = ws.changed_paths(ws.tree_of(base), tree)

    assert [
        line.split()[0] + " " + line.split("\t")[1] for line in listing.splitlines()
    ] == [
        "100644 docs/usage.md",
        "100755 run.sh",
    ]
    assert changed == ["docs/usage.md", "run.sh"]


def test_symbolic_links_of_the_repository_are_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    remote = make_git_remote(tmp_path / "links.git", {"README.md": "hi\n"})
    seed = tmp_path / "links.git-seed"
    (seed / "docs").symlink_to(outside)
    git(seed, "add", "docs")
    git(seed, "commit", "--quiet", "-m", "Link docs")
    git(seed, "push", "--quiet", str(remote), "main")
    through_link = (
        "diff --git a/docs/evil.py b/docs/evil.py\n"
        "new file mode 100644\n"
        "--- /dev/null\n"
        "+++ b/docs/evil.py\n"
        "@@ -0,0 +1 @@\n"
        "+print('written outside')\n"
    )

    with Workspace.create(Remote(url=str(remote)), IDENTITY, timeout_seconds=60) as ws:
        ws.load_tree(ws.fetch(["main"])["main"])
        with pytest.raises(PatchDoesNotApply, match="beyond a symbolic link"):
            ws.apply_patch(through_link, may_be_applied=False)

        ws.write_files({"docs/notes.md": "text\n"})
        listing = ws.run("ls-tree", "-r", "--name-only", ws.index_tree())

    assert list(outside.iterdir()) == []
    assert listing.splitlines() == ["README.md", "docs/notes.md"]


def test_credentials_travel_as_a_header_and_stay_out_of_every_file(
    forge: FakeForge, tmp_path: Path
) -> None:
    remote = Remote(
        url=f"{forge.url}/acme/web-app.git",
        provider=Provider.GITHUB,
        project="acme/web-app",
        token=FORGE_TOKEN,
    )

    with Workspace.create(
        remote, IDENTITY, timeout_seconds=60, parent=tmp_path / "work"
    ) as workspace:
        base = workspace.fetch(["main"])["main"]
        workspace.load_tree(base)
        workspace.apply_patch(PATCH, may_be_applied=False)
        commit = workspace.commit(workspace.index_tree(), base, "Fix\n")
        workspace.push(commit, "devflowfix/fix-x")
        config = git(workspace.directory, "config", "--list")
        stored = [
            path.read_bytes()
            for path in workspace.directory.rglob("*")
            if path.is_file()
        ]

    pushed = forge.root / "acme" / "web-app.git"
    assert git(pushed, "show", "devflowfix/fix-x:app.py") == FIXED_APP
    assert {forge.basic_password(r.headers) for r in forge.git_requests()} == {
        FORGE_TOKEN
    }
    assert FORGE_TOKEN not in config
    assert "extraheader" not in config.lower()
    assert f"remote.origin.url={forge.url}/acme/web-app.git" in config.splitlines()
    secrets = [secret.encode() for secret in remote.secrets]
    assert [blob for blob in stored if any(s in blob for s in secrets)] == []


def test_a_refused_token_fails_without_showing_it(
    forge: FakeForge, tmp_path: Path
) -> None:
    wrong = "ghp_wrongToken9876543210"
    remote = Remote(
        url=f"{forge.url}/acme/web-app.git",
        provider=Provider.GITHUB,
        project="acme/web-app",
        token=wrong,
    )

    with (
        Workspace.create(remote, IDENTITY, timeout_seconds=60) as workspace,
        pytest.raises(GitError) as caught,
    ):
        workspace.fetch(["main"])

    assert str(caught.value) == (
        f"git fetch failed: fatal: could not read Username for '{forge.url}': "
        "terminal prompts disabled"
    )
    assert wrong not in str(caught.value)


def test_an_unreachable_remote_names_the_reason(tmp_path: Path) -> None:
    missing = tmp_path / "missing.git"

    with (
        Workspace.create(Remote(url=str(missing)), IDENTITY, timeout_seconds=60) as ws,
        pytest.raises(GitError) as caught,
    ):
        ws.remote_refs(["main"])

    assert str(caught.value) == (
        f"git ls-remote failed: fatal: '{missing}' does not appear to be a git "
        "repository; fatal: Could not read from remote repository.; Please make "
        "sure you have the correct access rights; and the repository exists."
    )


def test_git_ignores_the_users_configuration(
    bare_remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    # A rewrite in the user's configuration would send git somewhere else.
    (home / ".gitconfig").write_text(
        '[url "/nonexistent/"]\n\tinsteadOf = /\n[user]\n\tname = Someone Else\n'
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))

    with Workspace.create(
        Remote(url=str(bare_remote)), IDENTITY, timeout_seconds=60
    ) as workspace:
        base = workspace.fetch(["main"])["main"]
        commit = workspace.commit(workspace.tree_of(base), base, "Empty\n")
        author = workspace.run("log", "-1", "--format=%an", commit).strip()

    assert os.environ["HOME"] == str(home)
    assert author == "DevFlowFix"


def test_a_remote_that_never_answers_times_out(tmp_path: Path) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        remote = Remote(url=f"http://127.0.0.1:{port}/acme/web-app.git")

        with (
            Workspace.create(remote, IDENTITY, timeout_seconds=1) as workspace,
            pytest.raises(GitError) as caught,
        ):
            workspace.remote_refs(["main"])

    assert str(caught.value) == (
        "git ls-remote did not finish within 1 s (DEVFLOWFIX_GIT_TIMEOUT_SECONDS)"
    )
