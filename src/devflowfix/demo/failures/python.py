"""Failures of Python projects: pytest, pip, ruff, mypy, wheels and migrations."""

from __future__ import annotations

from devflowfix.demo.failures.base import CI, EVERYWHERE, Context, Failure, Registry
from devflowfix.demo.failures.pools import line, test_name
from devflowfix.vocabulary import FailureType, Source

registry = Registry()

PYTHONS = ("3.10.14", "3.11.9", "3.12.4", "3.12.7", "3.13.0")
MISSING_MODULES = (
    ("yaml", "PyYAML"),
    ("dateutil", "python-dateutil"),
    ("jwt", "PyJWT"),
    ("psycopg2", "psycopg2-binary"),
    ("redis", "redis"),
    ("boto3", "boto3"),
    ("httpx", "httpx"),
    ("orjson", "orjson"),
    ("structlog", "structlog"),
    ("pandas", "pandas"),
    ("numpy", "numpy"),
    ("cv2", "opencv-python-headless"),
    ("sklearn", "scikit-learn"),
    ("tenacity", "tenacity"),
    ("freezegun", "freezegun"),
    ("pydantic_settings", "pydantic-settings"),
    ("sentry_sdk", "sentry-sdk"),
    ("google.protobuf", "protobuf"),
    ("celery", "celery"),
    ("attr", "attrs"),
)
EXTRAS = ("dev", "test", "postgres", "aws", "ml", "all")


def _pytest_header(c: Context, collected: str) -> list[str]:
    python = c.pick(PYTHONS)
    return [
        "=" * 29 + " test session starts " + "=" * 30,
        f"platform linux -- Python {python}, pytest-8.{c.num(0, 3)}.{c.num(0, 4)}, "
        "pluggy-1.5.0",
        f"rootdir: {c.workdir}",
        "configfile: pyproject.toml",
        f"plugins: cov-5.0.0, xdist-3.{c.num(3, 6)}.0, anyio-4.4.0",
        collected,
    ]


@registry.add(
    "python.module_not_found",
    FailureType.DEPENDENCY_ERROR,
    stage="test",
    ecosystems="python",
    weight=3,
    confidence=0.96,
)
def module_not_found(c: Context) -> Failure:
    module, distribution = c.pick(MISSING_MODULES)
    package, noun, at = c.repository.package, c.noun(), line(c)
    source_file = f"src/{package}/{noun}.py"
    extra = c.pick(EXTRAS)

    output = [
        *_pytest_header(c, "collected 0 items / 1 error"),
        "",
        "=" * 36 + " ERRORS " + "=" * 36,
        f"_______________ ERROR collecting tests/test_{noun}.py _______________",
        f"ImportError while importing test module '{c.workdir}/tests/test_{noun}.py'.",
        "Traceback:",
        f"tests/test_{noun}.py:{c.num(3, 12)}: in <module>",
        f"    from {package}.{noun} import {noun.capitalize()}Service",
        f"{source_file}:{at}: in <module>",
        f"    import {module}",
        f"E   ModuleNotFoundError: No module named '{module}'",
        "=" * 27 + " short test summary info " + "=" * 28,
        f"ERROR tests/test_{noun}.py",
        (
            "!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection "
            "!!!!!!!!!!!!!!!!!!!"
        ),
    ]

    return Failure(
        message=f"ModuleNotFoundError: No module named '{module}'",
        root_cause=(
            f"{source_file}:{at} imports `{module}`, but `{distribution}` is only "
            f"declared in the optional `[{extra}]` extra, which the CI job does "
            "not install."
        ),
        suggested_fix=(
            f"Add `{distribution}>={c.version(1, 6)}` to the main dependencies in "
            f"pyproject.toml, or install the extra in CI with "
            f"`pip install -e '.[{extra}]'`."
        ),
        command="pytest -q",
        output=output,
        exit_code=2,
    )


ASSERTIONS = (
    (
        "assert 404 == 200",
        "+  where 404 = <Response [404 Not Found]>.status_code",
        "the route was renamed and the test still calls the old path",
        "Point the test at the new route or keep the old path as an alias.",
    ),
    (
        "assert 500 == 201",
        "+  where 500 = <Response [500 Internal Server Error]>.status_code",
        "the handler raises on a payload without the optional field",
        "Default the optional field in the schema and add a regression test.",
    ),
    (
        "assert 'pending' == 'settled'",
        "- settled\n+ pending",
        "the background task that settles the record is no longer awaited",
        "Await the settle task (or run it eagerly in tests) before asserting.",
    ),
    (
        "assert Decimal('10.00') == Decimal('10.01')",
        "+  where Decimal('10.00') = round_amount(Decimal('10.005'))",
        "rounding switched from ROUND_HALF_UP to the default banker's rounding",
        "Pass rounding=ROUND_HALF_UP explicitly where amounts are quantised.",
    ),
    (
        "assert 3 == 2",
        "+  where 3 = len([<Row 1>, <Row 2>, <Row 2>])",
        "the join added in the last change returns duplicate rows",
        "Select distinct rows or aggregate before counting.",
    ),
)


@registry.add(
    "python.pytest_assertion",
    FailureType.TEST_FAILURE,
    stage="test",
    ecosystems="python",
    weight=4,
    confidence=0.82,
)
def pytest_assertion(c: Context) -> Failure:
    assertion, detail, cause, fix = c.pick(ASSERTIONS)
    noun, name, at = c.noun(), test_name(c), line(c)
    test_file = f"tests/test_{noun}.py"
    passed = c.num(80, 1400)

    output = [
        *_pytest_header(c, f"collected {passed + 1} items"),
        "",
        "=" * 35 + " FAILURES " + "=" * 35,
        f"______________________ {name} ______________________",
        "",
        f"    def {name}(client, {noun}_factory):",
        f"        {noun} = {noun}_factory()",
        f">       {assertion}",
        f"E       {assertion}",
        *(f"E        {part}" for part in detail.split("\n")),
        "",
        f"{test_file}:{at}: AssertionError",
        "=" * 27 + " short test summary info " + "=" * 28,
        f"FAILED {test_file}::{name} - AssertionError: {assertion}",
        f"======= 1 failed, {passed} passed in {c.seconds(12, 300)}s =======",
    ]

    return Failure(
        message=f"FAILED {test_file}::{name} - AssertionError: {assertion}",
        root_cause=f"{test_file}:{at} fails because {cause}.",
        suggested_fix=fix,
        command="pytest -q",
        output=output,
    )


@registry.add(
    "python.flaky_timeout",
    FailureType.FLAKY_TEST,
    stage="test",
    ecosystems="python",
    weight=2,
    confidence=0.74,
)
def flaky_timeout(c: Context) -> Failure:
    noun, name, at = c.noun(), test_name(c), line(c)
    test_file = f"tests/integration/test_{noun}_worker.py"
    wait = c.pick((1, 2, 3, 5))
    failures, runs = c.num(2, 6), c.pick((20, 30, 50))

    output = [
        *_pytest_header(c, f"collected {c.num(100, 900)} items"),
        f"{test_file}::{name} RERUN",
        f"{test_file}::{name} RERUN",
        f"{test_file}::{name} FAILED",
        "",
        f"    async def {name}(broker):",
        f"        await broker.publish('{noun}.created', payload)",
        f">       await asyncio.wait_for(consumer.acked.wait(), timeout={wait})",
        "E       TimeoutError",
        "",
        f"{test_file}:{at}: TimeoutError",
        f"FAILED {test_file}::{name} - TimeoutError",
        (
            f"==== 1 failed, {c.num(90, 800)} passed, 2 rerun in "
            f"{c.seconds(30, 400)}s ===="
        ),
    ]

    return Failure(
        message=f"FAILED {test_file}::{name} - TimeoutError",
        root_cause=(
            f"The test waits a fixed {wait}s for the consumer to acknowledge; on a "
            f"busy runner the broker is slower, so it failed {failures} of the last "
            f"{runs} runs on main and passes on re-run."
        ),
        suggested_fix=(
            "Wait for the acknowledgement with a deadline taken from the test "
            "settings and mark the test `@pytest.mark.flaky` until it is stable."
        ),
        command="pytest -q --reruns 2",
        output=output,
    )


CONFLICTS = (
    ("urllib3", "botocore", "urllib3<1.27"),
    ("protobuf", "grpcio-tools", "protobuf<5.0dev"),
    ("pydantic", "fastapi", "pydantic<2.0"),
    ("numpy", "pandas", "numpy<2"),
    ("sqlalchemy", "alembic", "SQLAlchemy<2.1"),
    ("requests", "docker", "requests<2.32"),
)


@registry.add(
    "python.resolution_impossible",
    FailureType.DEPENDENCY_ERROR,
    stage="build",
    ecosystems="python",
    weight=1.5,
    confidence=0.93,
)
def resolution_impossible(c: Context) -> Failure:
    wanted, dependent, constraint = c.pick(CONFLICTS)
    wanted_version, dependent_version = c.version(2, 5), c.version(1, 3)
    output = [
        f"Collecting {dependent}=={dependent_version}",
        f"  Downloading {dependent}-{dependent_version}-py3-none-any.whl "
        f"({c.num(40, 900)} kB)",
        f"ERROR: Cannot install {wanted}=={wanted_version} and "
        f"{dependent}=={dependent_version} because these package versions have "
        "conflicting dependencies.",
        "",
        "The conflict is caused by:",
        f"    The user requested {wanted}=={wanted_version}",
        f"    {dependent} {dependent_version} depends on {constraint}",
        "",
        "ERROR: ResolutionImpossible: for help visit "
        "https://pip.pypa.io/en/latest/topics/dependency-resolution/",
    ]

    return Failure(
        message=(
            f"ERROR: Cannot install {wanted}=={wanted_version} and "
            f"{dependent}=={dependent_version} because these package versions "
            "have conflicting dependencies."
        ),
        root_cause=(
            f"requirements.txt pins {wanted}=={wanted_version}, but "
            f"{dependent} {dependent_version} requires {constraint}."
        ),
        suggested_fix=(
            f"Upgrade {dependent} to a release that supports {wanted} "
            f"{wanted_version.split('.')[0]}.x, or relax the {wanted} pin; then "
            "regenerate the lock file."
        ),
        command="pip install -r requirements.txt",
        output=output,
    )


@registry.add(
    "python.no_matching_distribution",
    FailureType.DEPENDENCY_ERROR,
    stage="build",
    ecosystems="python",
    weight=1,
    confidence=0.9,
)
def no_matching_distribution(c: Context) -> Failure:
    _, distribution = c.pick(MISSING_MODULES)
    version = c.version(2, 6)
    python = c.pick(PYTHONS[:2])

    output = [
        f"Collecting {distribution}=={version} (from -r requirements.txt (line "
        f"{c.num(3, 40)}))",
        f"ERROR: Ignored the following versions that require a different python "
        f"version: {version} Requires-Python >=3.12",
        f"ERROR: Could not find a version that satisfies the requirement "
        f"{distribution}=={version} (from versions: {c.version(1, 1)}, "
        f"{c.version(1, 2)})",
        f"ERROR: No matching distribution found for {distribution}=={version}",
    ]

    return Failure(
        message=f"ERROR: No matching distribution found for {distribution}=={version}",
        root_cause=(
            f"{distribution} {version} requires Python >= 3.12, but the job runs "
            f"Python {python}."
        ),
        suggested_fix=(
            "Run the job on Python 3.12 (the matrix in the workflow) or pin "
            f"{distribution} to the last release that supports {python[:4]}."
        ),
        command="pip install -r requirements.txt",
        output=output,
    )


RUFF_RULES = (
    ("F401", "`{name}` imported but unused", "os"),
    ("E501", "Line too long (97 > 88)", ""),
    ("B008", "Do not perform function call `Depends` in argument defaults", ""),
    ("UP007", "Use `X | Y` for type annotations", ""),
    ("F841", "Local variable `{name}` is assigned to but never used", "result"),
    ("SIM108", "Use ternary operator instead of `if`-`else`-block", ""),
    ("S105", 'Possible hardcoded password assigned to: "{name}"', "token"),
    ("I001", "Import block is un-sorted or un-formatted", ""),
)


@registry.add(
    "python.ruff", FailureType.LINT_ERROR, stage="lint", ecosystems="python", weight=2
)
def ruff(c: Context) -> Failure:
    package = c.repository.package
    findings = []
    for _ in range(c.num(1, 5)):
        code, text, name = c.pick(RUFF_RULES)
        where = f"src/{package}/{c.noun()}.py:{line(c)}:{c.num(1, 60)}"
        findings.append(f"{where}: {code} {text.format(name=name)}")

    count = len(findings)

    output = [*findings, f"Found {count} error{'s' if count > 1 else ''}."]

    return Failure(
        message=findings[0] + (f" (and {count - 1} more)" if count > 1 else ""),
        root_cause=f"ruff reports {count} violation(s) in code changed by the commit.",
        suggested_fix="Run `ruff check --fix` and `ruff format` locally, then commit.",
        command="ruff check .",
        output=output,
    )


MYPY_ERRORS = (
    'Incompatible return value type (got "str | None", expected "str")  [return-value]',
    'Argument 1 to "{name}" has incompatible type "int"; expected "str"  [arg-type]',
    'Item "None" of "{noun} | None" has no attribute "id"  [union-attr]',
    "Missing return statement  [return]",
    "Function is missing a type annotation  [no-untyped-def]",
    'Module "{package}.{noun}" has no attribute "{name}"  [attr-defined]',
)


@registry.add(
    "python.mypy", FailureType.LINT_ERROR, stage="lint", ecosystems="python", weight=1.5
)
def mypy(c: Context) -> Failure:
    package = c.repository.package
    errors = []
    for _ in range(c.num(1, 4)):
        noun = c.noun()
        text = c.pick(MYPY_ERRORS).format(
            name=f"load_{noun}", noun=noun.capitalize(), package=package
        )
        errors.append(f"src/{package}/{noun}.py:{line(c)}: error: {text}")

    files = len({error.split(":")[0] for error in errors})
    summary = (
        f"Found {len(errors)} error{'s' if len(errors) > 1 else ''} in {files} "
        f"file{'s' if files > 1 else ''} (checked {c.num(40, 400)} source files)"
    )

    return Failure(
        message=errors[0],
        root_cause="The type checker rejects code from the commit: " + errors[0],
        suggested_fix=(
            "Fix the annotations or narrow the Optional value before use; run "
            "`mypy` locally before pushing."
        ),
        command="mypy",
        output=[*errors, summary],
    )


@registry.add(
    "python.flake8", FailureType.LINT_ERROR, stage="lint", ecosystems="python"
)
def flake8(c: Context) -> Failure:
    package = c.repository.package
    codes = (
        ("E501", "line too long (97 > 79 characters)"),
        ("W291", "trailing whitespace"),
        ("E302", "expected 2 blank lines, found 1"),
        ("F811", "redefinition of unused 'settings' from line 12"),
    )
    findings = []
    for _ in range(c.num(1, 4)):
        code, text = c.pick(codes)
        findings.append(
            f"./src/{package}/{c.noun()}.py:{line(c)}:{c.num(1, 80)}: {code} {text}"
        )

    return Failure(
        message=findings[0],
        root_cause=f"flake8 found {len(findings)} style violation(s) in the diff.",
        suggested_fix="Format with the project's formatter and re-run flake8.",
        command="flake8 src tests",
        output=[*findings, str(len(findings))],
    )


NATIVE_WHEELS = (
    ("psycopg2", "Error: pg_config executable not found.", "libpq-dev"),
    (
        "mysqlclient",
        "Exception: Can not find valid pkg-config name.",
        "libmysqlclient-dev",
    ),
    (
        "lxml",
        (
            "Error: Please make sure the libxml2 and libxslt development packages are "
            "installed."
        ),
        "libxml2-dev libxslt1-dev",
    ),
    (
        "python-ldap",
        "fatal error: lber.h: No such file or directory",
        "libldap2-dev libsasl2-dev",
    ),
)


@registry.add(
    "python.wheel_build",
    FailureType.BUILD_FAILURE,
    stage="build",
    ecosystems="python",
    weight=1.2,
    confidence=0.88,
)
def wheel_build(c: Context) -> Failure:
    distribution, error, packages = c.pick(NATIVE_WHEELS)
    version = c.version(1, 2)
    output = [
        f"Collecting {distribution}=={version}",
        f"  Downloading {distribution}-{version}.tar.gz ({c.num(300, 4000)} kB)",
        "  Installing build dependencies: started",
        "  Installing build dependencies: finished with status 'done'",
        "  Getting requirements to build wheel: finished with status 'error'",
        "  error: subprocess-exited-with-error",
        "  ",
        "  x Getting requirements to build wheel did not run successfully.",
        "  | exit code: 1",
        f"  | {error}",
        "note: This error originates from a subprocess, and is likely not a "
        "problem with pip.",
    ]

    return Failure(
        message=(f"Building {distribution}=={version} failed: {error}"),
        root_cause=(
            f"No prebuilt wheel of {distribution} {version} exists for this Python "
            f"and platform, so pip builds it from source, and the image lacks "
            f"the system headers ({packages})."
        ),
        suggested_fix=(
            f"Install `{packages}` before `pip install`, or switch to a package "
            "that ships wheels (for example the `-binary` variant)."
        ),
        command="pip install -r requirements.txt",
        output=output,
    )


@registry.add(
    "python.syntax_error",
    FailureType.COMPILATION_ERROR,
    stage="build",
    ecosystems="python",
    weight=0.6,
    confidence=0.9,
)
def syntax_error(c: Context) -> Failure:
    package, noun, at = c.repository.package, c.noun(), line(c)
    path = f"src/{package}/{noun}.py"
    output = [
        f"Listing 'src/{package}'...",
        f"Compiling '{path}'...",
        f'***   File "{path}", line {at}',
        f"    match {noun}.status:",
        "          ^",
        "SyntaxError: invalid syntax",
    ]

    return Failure(
        message=f'File "{path}", line {at}: SyntaxError: invalid syntax',
        root_cause=(
            f"{path}:{at} uses a `match` statement, which Python 3.9 (the oldest "
            "version in the build matrix) cannot parse."
        ),
        suggested_fix=(
            'Drop 3.9 from the matrix and set `requires-python = ">=3.10"`, or '
            "rewrite the match as if/elif."
        ),
        command="python -m compileall -q src",
        output=output,
    )


@registry.add(
    "python.xdist_worker_killed",
    FailureType.OUT_OF_MEMORY,
    stage="test",
    ecosystems="python",
    weight=0.8,
    confidence=0.8,
)
def xdist_worker_killed(c: Context) -> Failure:
    worker, noun = f"gw{c.num(0, 3)}", c.noun()
    test_file = f"tests/test_{noun}_report.py"
    name = test_name(c)

    output = [
        "created: 4/4 workers",
        f"[{worker}] node down: Not properly terminated",
        "F",
        f"replacing crashed worker {worker}",
        "=" * 35 + " FAILURES " + "=" * 35,
        f"_____________ {test_file}::{name} _____________",
        f"[{worker}] linux -- Python {c.pick(PYTHONS)}",
        f"worker '{worker}' crashed while running '{test_file}::{name}'",
        "Killed",
    ]

    return Failure(
        message=f"worker '{worker}' crashed while running '{test_file}::{name}'",
        root_cause=(
            f"The kernel OOM killer stopped the pytest worker: {name} builds a "
            f"report of {c.num(200, 900)}k rows in memory and four workers share a "
            f"{c.pick((4, 7, 8))} GB runner."
        ),
        suggested_fix=(
            "Stream the report in the test (or shrink its fixture), and run "
            "memory-heavy tests with `-n 2` or on a larger runner."
        ),
        command="pytest -n 4",
        output=output,
        exit_code=137,
    )


@registry.add(
    "python.alembic_revision",
    FailureType.DEPLOYMENT_FAILURE,
    stage="deploy",
    ecosystems="python",
    sources=EVERYWHERE,
    weight=0.8,
    confidence=0.86,
)
def alembic_revision(c: Context) -> Failure:
    missing, head = c.hex(12), c.hex(12)
    output = [
        "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.",
        "INFO  [alembic.runtime.migration] Will assume transactional DDL.",
        "Traceback (most recent call last):",
        '  File "/usr/local/bin/alembic", line 8, in <module>',
        "    sys.exit(main())",
        "alembic.script.revision.ResolutionError: No such revision or branch "
        f"'{missing}'",
        "",
        "The above exception was the direct cause of the following exception:",
        f"alembic.util.exc.CommandError: Can't locate revision identified by "
        f"'{missing}'",
    ]
    if c.source not in CI and c.source is not Source.MANUAL:
        output.append("Error: container migrate exited with code 1")

    return Failure(
        message=(
            "alembic.util.exc.CommandError: Can't locate revision identified by "
            f"'{missing}'"
        ),
        root_cause=(
            f"The database was migrated to {missing} by a branch that was never "
            f"merged; the image being deployed only knows revisions up to {head}."
        ),
        suggested_fix=(
            "Restore the missing migration file (or stamp the database back to "
            f"{head} after checking the schema), then redeploy."
        ),
        command="alembic upgrade head",
        output=output,
    )
