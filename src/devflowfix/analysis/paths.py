"""Paths as a reader of the repository knows them, not as the runner saw them."""

from __future__ import annotations

import re

# Where each CI checks a repository out. GitLab's is /builds/<namespace>/<project>
# (older runners put /<token>/<n> in front); a nested namespace keeps its extra
# directories in front.
WORKSPACE = re.compile(
    r"^(?:/home/runner/work/[^/]{1,200}/[^/]{1,200}/"
    r"|/builds/(?:[^/]{1,100}/\d{1,4}/)?[^/]{1,200}/[^/]{1,200}/"
    r"|/(?:var/lib/jenkins|home/jenkins(?:/agent)?)/workspace/[^/]{1,200}/"
    r"|[A-Za-z]:\\a\\[^\\]{1,200}\\[^\\]{1,200}\\|/github/workspace/|\./)"
)


def workspace_relative(path: str) -> str:
    """`path` without the CI's checkout directory in front of it."""
    return WORKSPACE.sub("", path, count=1)
