"""Python: pip, Poetry, imports, pytest, unittest, mypy, ruff, flake8 and black."""

from __future__ import annotations

from devflowfix.analysis.rules.base import Rule, Tier, rule
from devflowfix.vocabulary import FailureType as F

RULES: tuple[Rule, ...] = (
    rule(
        "python.module_not_found",
        F.DEPENDENCY_ERROR,
        Tier.CAUSE,
        r"ModuleNotFoundError: No module named '(?P<module>[\w.]{1,120})'",
        keywords=["modulenotfounderror"],
        cause="Python cannot import the module '{module}': it is not installed "
        "in the job's environment (ModuleNotFoundError).",
        fix="Add the package that provides '{module}' to the project's "
        "dependencies (requirements.txt or pyproject.toml), make sure the job "
        "installs them before running, and check the package name.",
        examples=["E   ModuleNotFoundError: No module named 'requests'"],
    ),
    rule(
        "python.import_name",
        F.DEPENDENCY_ERROR,
        Tier.CAUSE,
        r"ImportError: cannot import name '(?P<name>\w{1,120})' from "
        r"'(?P<module>[\w.]{1,120})'",
        keywords=["cannot import name"],
        cause="Python cannot import '{name}' from '{module}': the installed "
        "version of '{module}' does not provide it.",
        fix="Pin '{module}' to a version that has '{name}' (or update the code "
        "to its new API) and refresh the lock file.",
        examples=[
            "ImportError: cannot import name 'soft_unicode' from 'markupsafe' "
            "(/opt/venv/lib/python3.11/site-packages/markupsafe/__init__.py)"
        ],
    ),
    rule(
        "python.pip_no_distribution",
        F.DEPENDENCY_ERROR,
        Tier.CAUSE,
        r"ERROR: No matching distribution found for (?P<package>[^\s;]{1,120})",
        keywords=["no matching distribution"],
        cause="pip found no release of '{package}' that matches the requested "
        "version and this Python.",
        fix="Check the name and version of '{package}' on the package index, "
        "relax the pin, or use a Python version the package supports.",
        examples=["ERROR: No matching distribution found for numpy==3.0.0"],
    ),
    rule(
        "python.pip_conflict",
        F.DEPENDENCY_ERROR,
        Tier.CAUSE,
        r"ERROR: Cannot install (?P<packages>[^\n]{1,200}?) because these package "
        r"versions have conflicting dependencies|ERROR: ResolutionImpossible",
        keywords=["conflicting dependencies", "resolutionimpossible"],
        cause="pip cannot install the requirements together: their version "
        "constraints conflict ({packages}).",
        fix="Loosen or align the conflicting pins (pip prints which "
        "requirement wants which version), then regenerate the lock file.",
        examples=[
            "ERROR: Cannot install -r requirements.txt (line 4) and urllib3==2.2.0 "
            "because these package versions have conflicting dependencies."
        ],
    ),
    rule(
        "python.wheel_build",
        F.DEPENDENCY_ERROR,
        Tier.CAUSE,
        r"Failed building wheel for (?P<package>[\w.\-]{1,120})|Could not build wheels "
        r"for (?P<package2>[\w.\-]{1,120})|error: metadata-generation-failed|"
        r"(?P<tool>pg_config|mysql_config|pkg-config) executable not found",
        keywords=[
            "building wheel",
            "build wheels",
            "metadata-generation-failed",
            "executable not found",
        ],
        cause="pip could not build[ {package}] from source[: {tool} is missing "
        "on the runner].",
        fix="Install the system library and headers the package needs (for "
        "example libpq-dev for pg_config), or use a release with a binary "
        "wheel for this Python.",
        examples=["Error: pg_config executable not found."],
    ),
    rule(
        "python.poetry_lock",
        F.DEPENDENCY_ERROR,
        Tier.CAUSE,
        r"pyproject\.toml changed significantly since poetry\.lock was last "
        r"generated|poetry\.lock is not consistent with pyproject\.toml",
        keywords=["poetry.lock"],
        cause="poetry.lock is out of date: pyproject.toml changed after the "
        "lock file was generated.",
        fix="Run `poetry lock` (add `--no-update` to keep versions), commit the "
        "new poetry.lock and push again.",
        examples=[
            "pyproject.toml changed significantly since poetry.lock was last "
            "generated. Run `poetry lock [--no-update]` to fix the lock file."
        ],
    ),
    rule(
        "python.syntax_error",
        F.COMPILATION_ERROR,
        Tier.CAUSE,
        r'File "(?P<file>[^"\n]{1,200})", line (?P<line>\d{1,7})\n'
        r"(?:[^\n]{0,300}\n){0,4}?\s{0,12}(?P<kind>SyntaxError|IndentationError|"
        r"TabError): (?P<message>[^\n]{1,200})",
        keywords=["syntaxerror", "indentationerror", "taberror"],
        cause="{kind} in {file} at line {line}: {message}.",
        fix="Fix the syntax at {file}:{line}; run the file through `python -m "
        "py_compile` or the linter locally before pushing.",
        examples=[
            '  File "src/app/views.py", line 42\n    return {"ok": True\n'
            "           ^\nSyntaxError: '{' was never closed"
        ],
    ),
    rule(
        "python.pytest_timeout",
        F.TIMEOUT,
        Tier.CAUSE,
        r"^E\s{1,8}Failed: Timeout >(?P<seconds>[\d.]{1,10})s",
        keywords=["failed: timeout"],
        cause="A test ran longer than pytest-timeout's limit of {seconds}s and "
        "was stopped.",
        fix="Find what the test waits for (a lock, a network call, a sleep) and "
        "make it finish or mock it; raise the timeout only if the work is "
        "legitimately slow.",
        examples=["E   Failed: Timeout >30.0s"],
    ),
    rule(
        "python.pytest_failed",
        F.TEST_FAILURE,
        Tier.TOOL,
        r"^FAILED (?P<test>[\w/.\-]{1,200}::[^\s]{1,200})"
        r"(?: - (?P<reason>[^\n]{1,200}))?",
        keywords=["failed "],
        requires=["::"],
        cause="pytest test {test} failed: {reason}.",
        fix="Run `pytest {test}` locally, read the assertion above, and fix the "
        "code or the test's expectation.",
        examples=[
            "FAILED tests/test_orders.py::test_total_includes_tax - "
            "AssertionError: assert 118 == 120"
        ],
        collect="test",
    ),
    rule(
        "python.pytest_collection",
        F.TEST_FAILURE,
        Tier.TOOL,
        r"^ERROR (?P<path>[\w/.\-]{1,200}\.py)(?: - (?P<reason>[^\n]{1,200}))?$",
        keywords=["error "],
        requires=[".py"],
        cause="pytest could not collect {path}: {reason}.",
        fix="Import {path} locally (`python -c 'import ...'`) to see the error "
        "and fix it; collection errors stop the whole run.",
        examples=["ERROR tests/test_api.py - KeyError: 'DATABASE_URL'"],
    ),
    rule(
        "python.unittest_failed",
        F.TEST_FAILURE,
        Tier.TOOL,
        r"^(?:FAIL|ERROR): (?P<test>test\w{0,120}) \((?P<case>[\w.]{1,200})\)",
        keywords=["fail: test", "error: test"],
        cause="unittest test {test} ({case}) failed.",
        fix="Run `python -m unittest {case}` locally and fix the failing assertion.",
        examples=["FAIL: test_parse_date (tests.test_utils.DateTests)"],
        collect="test",
    ),
    rule(
        "python.mypy",
        F.LINT_ERROR,
        Tier.TOOL,
        r"^(?P<file>[\w/.\-]{1,200}\.pyi?):(?P<line>\d{1,7}): error: "
        r"(?P<message>[^\n]{1,200}?)  \[(?P<code>[\w-]{1,40})\]",
        keywords=[": error:"],
        cause="mypy reports a type error in {file} at line {line}: {message} ({code}).",
        fix="Fix the type error at {file}:{line} (or annotate the value); run "
        "`mypy` locally with the project's configuration.",
        examples=[
            "src/app/models.py:31: error: Incompatible return value type (got "
            '"str | None", expected "str")  [return-value]'
        ],
    ),
    rule(
        "python.flake8_ruff",
        F.LINT_ERROR,
        Tier.TOOL,
        r"^(?P<file>[\w/.\-]{1,200}\.py):(?P<line>\d{1,7}):(?P<col>\d{1,5}): "
        r"(?P<code>[A-Z]{1,4}\d{2,4}) (?P<message>[^\n]{1,200})",
        keywords=[".py:"],
        cause="The linter reports {code} in {file} at line {line}: {message}.",
        fix="Fix the reported lines (ruff can fix many with `ruff check "
        "--fix`), then run the linter locally before pushing.",
        examples=["src/app/api.py:12:1: F401 'os' imported but unused"],
    ),
    rule(
        "python.formatter",
        F.LINT_ERROR,
        Tier.TOOL,
        r"^would reformat (?P<file>[^\n]{1,200})$"
        r"|^Would reformat: (?P<file2>[^\n]{1,200})$",
        keywords=["would reformat"],
        cause="The formatter check failed: {file} is not formatted.",
        fix="Run the formatter (`black .` or `ruff format`) and commit the result.",
        examples=["would reformat src/app/main.py"],
    ),
    rule(
        "python.memory_error",
        F.OUT_OF_MEMORY,
        Tier.CAUSE,
        r"^(?:E\s{1,8})?MemoryError\b",
        keywords=["memoryerror"],
        cause="The Python process ran out of memory (MemoryError).",
        fix="Reduce what the step holds in memory (stream data, smaller "
        "batches) or run it on a runner with more memory.",
        examples=["MemoryError"],
    ),
)
