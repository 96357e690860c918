"""Failures of Java (Maven, Gradle) and .NET projects."""

from __future__ import annotations

from devflowfix.demo.failures.base import Context, Failure, Registry
from devflowfix.demo.failures.pools import camel_test_name, line, title
from devflowfix.vocabulary import FailureType

registry = Registry()

JAVA_LIBRARIES = (
    ("com.fasterxml.jackson.core", "jackson-databind"),
    ("org.apache.kafka", "kafka-clients"),
    ("io.micrometer", "micrometer-registry-prometheus"),
    ("org.postgresql", "postgresql"),
    ("org.testcontainers", "testcontainers"),
    ("io.grpc", "grpc-netty-shaded"),
)


def _java_package(c: Context) -> str:
    repository = c.repository
    return f"com/{repository.namespace}/{repository.package.replace('_', '')}"


def _java_class(c: Context, suffix: str = "Service") -> str:
    return title(c.noun()) + suffix


def _maven_failure(goal: str, project: str) -> str:
    return (
        f"[ERROR] Failed to execute goal {goal} on project {project}: "
        "Compilation failure"
    )


@registry.add(
    "java.cannot_find_symbol",
    FailureType.COMPILATION_ERROR,
    stage="build",
    ecosystems="java",
    weight=2.5,
    confidence=0.93,
)
def cannot_find_symbol(c: Context) -> Failure:
    klass, other = _java_class(c), _java_class(c, "Repository")
    path = f"src/main/java/{_java_package(c)}/{klass}.java"
    at, column = line(c), c.num(9, 60)
    method = f"findBy{title(c.noun())}Id"
    project = c.repository.name

    output = [
        "[INFO] --- compiler:3.13.0:compile (default-compile) @ " + project + " ---",
        f"[INFO] Compiling {c.num(80, 600)} source files with javac [debug release 21]",
        "[INFO] -------------------------------------------------------------",
        "[ERROR] COMPILATION ERROR :",
        "[INFO] -------------------------------------------------------------",
        f"[ERROR] {c.workdir}/{path}:[{at},{column}] cannot find symbol",
        f"  symbol:   method {method}(java.util.UUID)",
        f"  location: variable repository of type {other}",
        "[INFO] 1 error",
        "[INFO] BUILD FAILURE",
        _maven_failure(
            "org.apache.maven.plugins:maven-compiler-plugin:3.13.0:compile "
            "(default-compile)",
            project,
        ),
    ]

    return Failure(
        message=(
            f"[ERROR] {path}:[{at},{column}] cannot find symbol: method "
            f"{method}(java.util.UUID)"
        ),
        root_cause=(
            f"{other}.{method} was renamed in the shared data module, and "
            f"{klass} ({path}:{at}) still calls the old name."
        ),
        suggested_fix=(
            f"Call the renamed repository method from {klass}, or keep "
            f"{method} as a deprecated default method until callers move."
        ),
        command="./mvnw -B package -DskipTests",
        output=output,
    )


@registry.add(
    "java.junit_assertion",
    FailureType.TEST_FAILURE,
    stage="test",
    ecosystems="java",
    weight=3.5,
    confidence=0.8,
)
def junit_assertion(c: Context) -> Failure:
    klass = _java_class(c) + "Test"
    test, at = camel_test_name(c), line(c)
    expected, actual = c.pick(((400, 500), (201, 409), (200, 403), (404, 200)))
    runs = c.num(60, 900)

    output = [
        "[INFO] -------------------------------------------------------",
        "[INFO]  T E S T S",
        "[INFO] -------------------------------------------------------",
        f"[ERROR] Tests run: {c.num(4, 30)}, Failures: 1, Errors: 0, Skipped: 0, "
        f"Time elapsed: {c.seconds(0.5, 30)} s <<< FAILURE! -- in "
        f"{_java_package(c).replace('/', '.')}.{klass}",
        f"[ERROR] {klass}.{test} -- Time elapsed: {c.seconds(0.01, 3)} s <<< FAILURE!",
        "org.opentest4j.AssertionFailedError: ",
        f"expected: <{expected}> but was: <{actual}>",
        f"\tat {klass}.{test}({klass}.java:{at})",
        "[INFO] Results:",
        f"[ERROR]   {klass}.{test}:{at} expected: <{expected}> but was: <{actual}>",
        f"[ERROR] Tests run: {runs}, Failures: 1, Errors: 0, Skipped: {c.num(0, 9)}",
        "[INFO] BUILD FAILURE",
    ]

    return Failure(
        message=f"{klass}.{test}:{at} expected: <{expected}> but was: <{actual}>",
        root_cause=(
            f"{klass}.{test} expects HTTP {expected}; the controller now answers "
            f"{actual} since the validation moved behind the authorisation check."
        ),
        suggested_fix=(
            "Validate the request before checking permissions, or update the "
            "test if the new status is intended and documented."
        ),
        command="./mvnw -B verify",
        output=output,
    )


@registry.add(
    "java.surefire_flake",
    FailureType.FLAKY_TEST,
    stage="test",
    ecosystems="java",
    weight=1.5,
    confidence=0.7,
)
def surefire_flake(c: Context) -> Failure:
    klass = _java_class(c, "IntegrationTest")
    test, at = camel_test_name(c), line(c)
    output = [
        "[INFO] Results:",
        "[INFO] ",
        "[WARNING] Flakes: ",
        f"[WARNING] {klass}.{test}",
        f"[ERROR]   Run 1: {klass}.{test}:{at} ConditionTimeout Condition with "
        f"lambda expression in {klass} was not fulfilled within 5 seconds.",
        "[INFO]   Run 2: PASS",
        f"[WARNING] Tests run: {c.num(200, 1200)}, Failures: 0, Errors: 0, "
        "Skipped: 0, Flakes: 1",
        "[ERROR] There are test failures: the build is configured to fail on "
        "flaky tests",
    ]

    return Failure(
        message=(
            f"Flaky test {klass}.{test}: ConditionTimeout was not fulfilled within "
            "5 seconds (passed on rerun)"
        ),
        root_cause=(
            f"{klass}.{test} polls a Kafka consumer with a 5 s Awaitility timeout; "
            "the Testcontainers broker sometimes needs longer to elect a leader."
        ),
        suggested_fix=(
            "Wait for the topic to be ready in the test setup and raise the "
            "Awaitility timeout for this test class."
        ),
        command="./mvnw -B verify -Dsurefire.rerunFailingTestsCount=1",
        output=output,
    )


@registry.add(
    "java.unresolved_dependency",
    FailureType.DEPENDENCY_ERROR,
    stage="build",
    ecosystems="java",
    weight=2,
    confidence=0.9,
)
def unresolved_dependency(c: Context) -> Failure:
    group, artifact = c.pick(JAVA_LIBRARIES)
    version = c.version(1, 7)
    project = c.repository.name
    if c.chance(0.5):
        output = [
            "FAILURE: Build failed with an exception.",
            "",
            "* What went wrong:",
            "Execution failed for task ':app:compileJava'.",
            "> Could not resolve all files for configuration ':app:compileClasspath'.",
            f"   > Could not find {group}:{artifact}:{version}.",
            "     Searched in the following locations:",
            f"       - https://repo.maven.apache.org/maven2/{group.replace('.', '/')}/"
            f"{artifact}/{version}/{artifact}-{version}.pom",
        ]
        command = "./gradlew build"
    else:
        output = [
            f"[ERROR] Failed to execute goal on project {project}: Could not "
            f"resolve dependencies for project com.{c.repository.namespace}:"
            f"{project}:jar:{c.version(1, 3)}-SNAPSHOT: The following artifacts "
            f"could not be resolved: {group}:{artifact}:jar:{version} (absent)",
            "[ERROR] -> [Help 1]",
        ]
        command = "./mvnw -B package"

    return Failure(
        message=f"Could not find {group}:{artifact}:{version}",
        root_cause=(
            f"{artifact} {version} does not exist: the version catalog was bumped "
            "by hand to a release that was announced but never published."
        ),
        suggested_fix=(
            f"Pin {artifact} to the latest published release and let the "
            "dependency bot propose upgrades."
        ),
        command=command,
        output=output,
    )


@registry.add(
    "java.heap_space",
    FailureType.OUT_OF_MEMORY,
    stage="test",
    ecosystems="java",
    weight=1.5,
    confidence=0.9,
)
def heap_space(c: Context) -> Failure:
    klass = _java_class(c, "ReportTest")
    xmx = c.pick(("512m", "1g", "2g"))
    output = [
        "> Task :app:test",
        "",
        f"{klass} > generatesMonthlyReport() FAILED",
        "    java.lang.OutOfMemoryError: Java heap space",
        "        at java.base/java.util.Arrays.copyOf(Arrays.java:3541)",
        "        at java.base/java.util.ArrayList.grow(ArrayList.java:237)",
        "",
        "Expiring Daemon because JVM heap space is exhausted",
        "FAILURE: Build failed with an exception.",
    ]

    return Failure(
        message="java.lang.OutOfMemoryError: Java heap space",
        root_cause=(
            f"{klass} loads the whole month of fixtures into a list; the test JVM "
            f"runs with -Xmx{xmx}, which the data set outgrew."
        ),
        suggested_fix=(
            "Stream the fixture rows in the report builder, or give the test "
            'task `maxHeapSize = "2g"` until it does.'
        ),
        command="./gradlew test",
        output=output,
    )


@registry.add("java.spotless", FailureType.LINT_ERROR, stage="lint", ecosystems="java")
def spotless(c: Context) -> Failure:
    files = [
        f"src/main/java/{_java_package(c)}/{_java_class(c)}.java"
        for _ in range(c.num(1, 4))
    ]

    output = [
        "> Task :spotlessJavaCheck FAILED",
        "",
        "FAILURE: Build failed with an exception.",
        "* What went wrong:",
        "Execution failed for task ':spotlessJavaCheck'.",
        "> The following files had format violations:",
        *(f"      {path}" for path in files),
        "  Run './gradlew :spotlessApply' to fix these violations.",
    ]

    return Failure(
        message=f"The following files had format violations: {files[0]}",
        root_cause=(
            f"{len(files)} file(s) were committed without running the formatter."
        ),
        suggested_fix="Run `./gradlew spotlessApply` and commit the result.",
        command="./gradlew spotlessCheck",
        output=output,
    )


@registry.add(
    "java.maven_401",
    FailureType.AUTHENTICATION_ERROR,
    stage="build",
    ecosystems="java",
    confidence=0.91,
)
def maven_401(c: Context) -> Failure:
    owner = c.repository.namespace
    artifact = f"{owner}-commons-{c.noun()}"
    url = f"https://maven.pkg.github.com/{c.repository.owner}/{artifact}"

    output = [
        f"Downloading from github: {url}/maven-metadata.xml",
        f"[ERROR] Failed to execute goal on project {c.repository.name}: Could not "
        f"resolve dependencies: Could not transfer artifact com.{owner}:"
        f"{artifact}:pom:{c.version(1, 3)} from/to github ({url}): status code: "
        "401, reason phrase: Unauthorized (401)",
    ]

    return Failure(
        message=(
            f"Could not transfer artifact com.{owner}:{artifact} from/to github: "
            "status code: 401, reason phrase: Unauthorized (401)"
        ),
        root_cause=(
            "settings.xml reads the registry password from GITHUB_TOKEN, whose "
            "permissions in this workflow do not include `packages: read`."
        ),
        suggested_fix=(
            "Grant `permissions: packages: read` to the job, or use a token with "
            "read:packages for the Maven server entry."
        ),
        command="./mvnw -B package",
        output=output,
    )


@registry.add(
    "dotnet.cs_compile",
    FailureType.COMPILATION_ERROR,
    stage="build",
    ecosystems="dotnet",
    weight=2,
    confidence=0.92,
)
def cs_compile(c: Context) -> Failure:
    project = c.repository.camel
    klass = title(c.noun()) + c.pick(("Service", "Controller", "Handler"))
    at, column = line(c), c.num(5, 60)
    code, text = c.pick(
        (
            (
                "CS0246",
                f"The type or namespace name '{title(c.noun())}Dto' could "
                "not be found (are you missing a using directive or an assembly "
                "reference?)",
            ),
            (
                "CS1061",
                f"'{title(c.noun())}' does not contain a definition for "
                f"'{title(c.noun())}Id'",
            ),
            ("CS8602", "Dereference of a possibly null reference."),
            (
                "CS0103",
                f"The name '{c.noun()}Options' does not exist in the current context",
            ),
        )
    )
    where = f"{c.workdir}/src/{project}/{klass}.cs({at},{column})"

    output = [
        "  Determining projects to restore...",
        "  All projects are up-to-date for restore.",
        f"{where}: error {code}: {text} [{c.workdir}/src/{project}/{project}.csproj]",
        "",
        "Build FAILED.",
        "    0 Warning(s)",
        "    1 Error(s)",
        f"Time Elapsed 00:00:{c.num(10, 59)}.{c.num(10, 99)}",
    ]

    return Failure(
        message=f"{klass}.cs({at},{column}): error {code}: {text}",
        root_cause=(
            f"src/{project}/{klass}.cs:{at} no longer compiles after the shared "
            f"contracts package changed ({code})."
        ),
        suggested_fix=(
            "Update the code to the new contracts, or pin the contracts package "
            "to the previous version until the migration is done."
        ),
        command="dotnet build -c Release",
        output=output,
    )


@registry.add(
    "dotnet.nuget_missing",
    FailureType.DEPENDENCY_ERROR,
    stage="build",
    ecosystems="dotnet",
    weight=1.5,
    confidence=0.92,
)
def nuget_missing(c: Context) -> Failure:
    project = c.repository.camel
    owner = c.repository.namespace.capitalize()
    package = f"{owner}.{title(c.noun())}.Contracts"

    output = [
        "  Determining projects to restore...",
        f"{c.workdir}/src/{project}/{project}.csproj : error NU1101: Unable to find "
        f"package {package}. No packages exist with this id in source(s): nuget.org",
        f"  Failed to restore {c.workdir}/src/{project}/{project}.csproj (in "
        f"{c.seconds(1, 9)} sec).",
    ]

    return Failure(
        message=(
            f"error NU1101: Unable to find package {package}. No packages exist "
            "with this id in source(s): nuget.org"
        ),
        root_cause=(
            f"{package} lives in the internal Azure Artifacts feed, which the "
            "nuget.config on this branch no longer lists."
        ),
        suggested_fix=(
            "Add the internal feed back to nuget.config with package source "
            f"mapping for `{owner}.*`, and authenticate it in CI."
        ),
        command="dotnet restore",
        output=output,
    )


@registry.add(
    "dotnet.test_failure",
    FailureType.TEST_FAILURE,
    stage="test",
    ecosystems="dotnet",
    weight=3,
    confidence=0.8,
)
def dotnet_test_failure(c: Context) -> Failure:
    klass = title(c.noun()) + "ServiceTests"
    test = (
        title(c.noun())
        + "_"
        + c.pick(
            ("Rejects_negative_amount", "Rounds_to_cents", "Handles_missing_customer")
        )
    )
    expected, actual = c.num(10, 400), c.num(10, 400)
    at = line(c)
    total = c.num(100, 900)

    output = [
        f"  Failed {c.repository.camel}.Tests.{klass}.{test} [{c.num(2, 400)} ms]",
        "  Error Message:",
        "   Assert.Equal() Failure: Values differ",
        f"Expected: {expected}",
        f"Actual:   {actual}",
        "  Stack Trace:",
        f"     at {c.repository.camel}.Tests.{klass}.{test}() in "
        f"{c.workdir}/tests/{klass}.cs:line {at}",
        "",
        f"Failed!  - Failed:     1, Passed:   {total}, Skipped:     0, Total:   "
        f"{total + 1}",
    ]

    return Failure(
        message=(
            f"Failed {klass}.{test}: Assert.Equal() Failure: Expected {expected}, "
            f"Actual {actual}"
        ),
        root_cause=(
            f"{klass}.{test} (tests/{klass}.cs:{at}) depends on the current "
            "culture; the runner image switched to invariant culture and amounts "
            "are now parsed differently."
        ),
        suggested_fix=(
            "Parse and format amounts with CultureInfo.InvariantCulture in the "
            "service and its tests."
        ),
        command="dotnet test --no-build -c Release",
        output=output,
    )


@registry.add(
    "dotnet.format", FailureType.LINT_ERROR, stage="lint", ecosystems="dotnet"
)
def dotnet_format(c: Context) -> Failure:
    project = c.repository.camel
    findings = [
        f"{c.workdir}/src/{project}/{title(c.noun())}Service.cs({line(c)},"
        f"{c.num(1, 40)}): error WHITESPACE: Fix whitespace formatting. Replace "
        f"{c.num(2, 12)} characters with '\\n\\s\\s\\s\\s'. [{project}.csproj]"
        for _ in range(c.num(1, 3))
    ]

    return Failure(
        message=findings[0].split(": ", 1)[1],
        root_cause=f"{len(findings)} file(s) do not follow .editorconfig formatting.",
        suggested_fix="Run `dotnet format` and commit the changes.",
        command="dotnet format --verify-no-changes",
        output=findings,
        exit_code=2,
    )
