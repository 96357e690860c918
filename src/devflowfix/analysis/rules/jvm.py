"""Java and Kotlin: Maven, Gradle, javac, kotlinc, Surefire, Checkstyle, the JVM."""

from __future__ import annotations

from devflowfix.analysis.rules.base import Rule, Tier, rule
from devflowfix.vocabulary import FailureType as F

RULES: tuple[Rule, ...] = (
    rule(
        "maven.compilation",
        F.COMPILATION_ERROR,
        Tier.TOOL,
        r"^\[ERROR\] (?P<file>/?[\w/.\-]{1,300}\.(?:java|kt|scala)):"
        r"\[(?P<line>\d{1,7}),"
        r"\d{1,5}\] (?P<message>(?!\([a-z]{1,30}\) )[^\n]{1,200})",
        keywords=["[error]"],
        cause="javac cannot compile {file} at line {line}: {message}.",
        fix="Fix the error at {file}:{line}; `mvn -q compile` reproduces it locally.",
        examples=[
            "[ERROR] /home/runner/work/shop/shop/src/main/java/com/acme/Cart.java:"
            "[27,16] cannot find symbol"
        ],
    ),
    rule(
        "maven.dependency_resolution",
        F.DEPENDENCY_ERROR,
        Tier.CAUSE,
        r"Could not resolve dependencies for project (?P<project>\S{1,200}): "
        r"(?:The following artifacts could not be resolved: |Could not find "
        r"artifact |Failed to collect dependencies at )(?P<artifact>[\w.:\-]{1,200})",
        keywords=["could not resolve dependencies"],
        cause="Maven cannot resolve the dependency {artifact} of {project}.",
        fix="Check that {artifact} exists in the configured repositories at "
        "that version (and that private repositories have credentials in "
        "settings.xml).",
        examples=[
            "[ERROR] Failed to execute goal on project billing: Could not resolve "
            "dependencies for project com.acme:billing:jar:1.4.0: Could not find "
            "artifact com.acme:ledger-client:jar:2.3.1 in central"
        ],
    ),
    rule(
        "maven.surefire",
        F.TEST_FAILURE,
        Tier.TOOL,
        r"^\[ERROR\]\s{1,4}(?P<test>[A-Za-z][\w$.]{0,200}\.\w{1,120}(?::\d{1,6})?)"
        r"(?: (?P<reason>(?:\u00bb |expected|[A-Z])[^\n]{0,200}))?$"
        r"|^\[ERROR\] There are test failures\.",
        keywords=["[error]"],
        cause="Maven tests failed: {test_list}.",
        fix="Run `mvn test -Dtest=` with the failing class locally and fix the "
        "assertion; Surefire's reports are in target/surefire-reports.",
        examples=[
            "[ERROR]   CartTest.totalIncludesTax:41 expected: <120> but was: <118>"
        ],
        collect="test",
    ),
    rule(
        "maven.checkstyle",
        F.LINT_ERROR,
        Tier.TOOL,
        r"You have (?P<violations>\d{1,6}) Checkstyle violations?|"
        r"The following files had format violations|"
        r"(?P<file>[\w/.\-]{1,300}\.java):\[(?P<line>\d{1,7}),\d{1,5}\] "
        r"\([a-z]{1,30}\) (?P<check>\w{1,60}):",
        keywords=["checkstyle", "format violations", ".java:["],
        cause="Style checks failed (Checkstyle or Spotless)[: {violations} "
        "violations][: {check} in {file} at line {line}].",
        fix="Run `mvn checkstyle:check` or `mvn spotless:apply` locally and "
        "commit the fixes.",
        examples=["[ERROR] You have 4 Checkstyle violations."],
    ),
    rule(
        "gradle.compilation",
        F.COMPILATION_ERROR,
        Tier.TOOL,
        r"^(?P<file>/?[\w/.\-]{1,300}\.java):(?P<line>\d{1,7}): error: "
        r"(?P<message>[^\n]{1,200})|^e: (?:file://)?(?P<file2>/?[\w/.\-]{1,300}"
        r"\.kts?):(?P<line2>\d{1,7}):\d{1,5}:? (?P<message2>[^\n]{1,200})",
        keywords=[".java:", ".kt:", ".kts:"],
        cause="The compiler rejects {file} at line {line}: {message}.",
        fix="Fix the error at {file}:{line}; `./gradlew compileJava` (or "
        "compileKotlin) reproduces it.",
        examples=[
            "/home/runner/work/app/src/main/java/com/acme/App.java:14: error: "
            "';' expected",
            "e: file:///builds/app/src/main/kotlin/Main.kt:9:5 Unresolved "
            "reference: greet",
        ],
    ),
    rule(
        "gradle.tests",
        F.TEST_FAILURE,
        Tier.TOOL,
        r"^(?P<test>[\w.$]{1,200} > [^\n]{1,200}) FAILED$",
        keywords=[" failed"],
        requires=[" > "],
        cause="Gradle tests failed: {test_list}.",
        fix="Run `./gradlew test --tests` with the failing class locally; the "
        "HTML report under build/reports/tests shows the assertion.",
        examples=["CartTest > totalIncludesTax() FAILED"],
        collect="test",
    ),
    rule(
        "gradle.dependency",
        F.DEPENDENCY_ERROR,
        Tier.CAUSE,
        r"Could not resolve all (?:files|dependencies|artifacts) for configuration "
        r"'(?P<configuration>[^'\n]{1,120})'\.(?:\n[^\n]{0,300}){0,6}?\n\s{0,8}> "
        r"Could not (?:find|resolve) (?P<artifact>[\w.:\-]{1,200})",
        keywords=["could not resolve all"],
        cause="Gradle cannot resolve {artifact} for the configuration {configuration}.",
        fix="Check the coordinates and version of {artifact} and that the "
        "repositories block lists where it is published.",
        examples=[
            "> Could not resolve all files for configuration ':app:runtimeClasspath'."
            "\n   > Could not find com.acme:ledger:3.1.0."
        ],
    ),
    rule(
        "jvm.out_of_memory",
        F.OUT_OF_MEMORY,
        Tier.CAUSE,
        r"java\.lang\.OutOfMemoryError: (?P<area>Java heap space|GC overhead "
        r"limit exceeded|Metaspace|unable to create new native thread)",
        keywords=["outofmemoryerror"],
        cause="The JVM ran out of memory ({area}).",
        fix="Raise the heap (-Xmx via MAVEN_OPTS, org.gradle.jvmargs or the "
        "test JVM's argLine) or reduce the build's parallelism.",
        examples=["java.lang.OutOfMemoryError: Java heap space"],
    ),
    rule(
        "jvm.class_version",
        F.CONFIGURATION_ERROR,
        Tier.CAUSE,
        r"UnsupportedClassVersionError: [^\n]{0,200}class file version "
        r"(?P<needed>[\d.]{1,6})[^\n]{0,120}up to (?P<supported>[\d.]{1,6})|"
        r"(?:invalid (?:target|source) release:? |error: release version )"
        r"(?P<release>\d{1,3})",
        keywords=[
            "unsupportedclassversionerror",
            "invalid target release",
            "invalid source release",
            "release version",
        ],
        cause="The job's JDK is older than the code needs[: class file "
        "{needed}, supported up to {supported}][: release {release} is not "
        "supported].",
        fix="Use a JDK that matches the project's target (actions/setup-java "
        "`java-version`, or the build image).",
        examples=["[ERROR] error: invalid target release: 21"],
    ),
    rule(
        "maven.build_failure",
        F.BUILD_FAILURE,
        Tier.GENERIC,
        r"^\[ERROR\] Failed to execute goal (?P<goal>[\w.:\-]{1,200})"
        r"[^\n]{0,200} on project (?P<project>[\w.\-]{1,120})",
        keywords=["failed to execute goal"],
        cause="Maven failed at {goal} on project {project}.",
        fix="Read the first [ERROR] above the summary; run the same goal "
        "locally with `-e` for the full stack trace.",
        weight=1,
        examples=[
            "[ERROR] Failed to execute goal org.apache.maven.plugins:"
            "maven-assembly-plugin:3.6.0:single (make) on project api: Failed"
        ],
    ),
    rule(
        "gradle.build_failure",
        F.BUILD_FAILURE,
        Tier.GENERIC,
        r"Execution failed for task '(?P<task>[^'\n]{1,200})'",
        keywords=["execution failed for task"],
        cause="Gradle task {task} failed.",
        fix="Run `./gradlew {task} --stacktrace` locally and fix the first "
        "error it shows.",
        weight=1,
        examples=["Execution failed for task ':app:mergeReleaseResources'."],
    ),
)
