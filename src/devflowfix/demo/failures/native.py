"""Failures of Go, Rust and C/C++ projects."""

from __future__ import annotations

from devflowfix.demo.failures.base import Context, Failure, Registry
from devflowfix.demo.failures.pools import camel_test_name, line, title
from devflowfix.vocabulary import FailureType, Source

registry = Registry()

GO_MODULES = (
    "github.com/jackc/pgx/v5",
    "google.golang.org/grpc",
    "github.com/spf13/viper",
    "go.opentelemetry.io/otel",
    "github.com/aws/aws-sdk-go-v2",
    "golang.org/x/sync",
)
CRATES = ("serde", "tokio", "hyper", "axum", "sqlx", "tonic", "rustls", "clap")


def _go_module(c: Context) -> str:
    host = "gitlab.com" if c.source is Source.GITLAB_CI else "github.com"
    return f"{host}/{c.repository.slug}"


@registry.add(
    "go.undefined",
    FailureType.COMPILATION_ERROR,
    stage="build",
    ecosystems="go",
    weight=2,
    confidence=0.93,
)
def go_undefined(c: Context) -> Failure:
    noun = c.noun()
    path = f"internal/{noun}/{c.pick(('handler', 'service', 'store'))}.go"
    at, column = line(c), c.num(2, 40)
    symbol = c.pick(
        (f"validate{title(noun)}", f"New{title(noun)}Client", "errNotFound")
    )
    output = [
        f"# {_go_module(c)}/internal/{noun}",
        f"{path}:{at}:{column}: undefined: {symbol}",
        f"{path}:{at + c.num(3, 40)}:{column}: too many errors"
        if c.chance(0.3)
        else f"note: module requires Go 1.{c.num(21, 23)}",
    ]

    return Failure(
        message=f"./{path}:{at}:{column}: undefined: {symbol}",
        root_cause=(
            f"{symbol} was moved behind a build tag in the last change, so the "
            f"default build of {path} cannot see it."
        ),
        suggested_fix=(
            f"Move {symbol} to a file without the build tag, or add the tag to the "
            "CI build."
        ),
        command="go build ./...",
        output=output,
    )


@registry.add(
    "go.test_failure",
    FailureType.TEST_FAILURE,
    stage="test",
    ecosystems="go",
    weight=3,
    confidence=0.8,
)
def go_test_failure(c: Context) -> Failure:
    noun = c.noun()
    test = "Test" + title(camel_test_name(c))
    at = line(c)
    got, want = c.pick(
        (("409", "201"), ('"pending"', '"done"'), ("3", "2"), ("nil", "error"))
    )
    package = f"{_go_module(c)}/internal/{noun}"

    output = [
        f"=== RUN   {test}",
        f"    {noun}_test.go:{at}: got {got}, want {want}",
        f"--- FAIL: {test} ({c.seconds(0, 3)}s)",
        "FAIL",
        f"FAIL\t{package}\t{c.seconds(0.2, 40)}s",
        f"ok  \t{_go_module(c)}/internal/config\t0.0{c.num(10, 99)}s",
        "FAIL",
    ]

    return Failure(
        message=f"--- FAIL: {test}: {noun}_test.go:{at}: got {got}, want {want}",
        root_cause=(
            f"{test} in internal/{noun} expects {want}; the store now returns "
            f"{got} because the uniqueness check runs before the upsert."
        ),
        suggested_fix=(
            "Restore the upsert order or update the expectation with the new contract."
        ),
        command="go test -race ./...",
        output=output,
    )


@registry.add(
    "go.data_race",
    FailureType.FLAKY_TEST,
    stage="test",
    ecosystems="go",
    weight=1.5,
    confidence=0.76,
)
def go_data_race(c: Context) -> Failure:
    noun = c.noun()
    test = f"Test{title(noun)}Pool"
    at = line(c)

    output = [
        "==================",
        "WARNING: DATA RACE",
        f"Write at 0x00c000{c.hex(6)} by goroutine {c.num(8, 90)}:",
        f"  {_go_module(c)}/internal/{noun}.(*Pool).release()",
        f"      {c.workdir}/internal/{noun}/pool.go:{at} +0x{c.hex(2)}",
        f"Previous read at 0x00c000{c.hex(6)} by goroutine {c.num(8, 90)}:",
        f"  {_go_module(c)}/internal/{noun}.(*Pool).Len()",
        "==================",
        f"--- FAIL: {test} ({c.seconds(0, 6)}s)",
        "    testing.go:1398: race detected during execution of test",
    ]

    return Failure(
        message=f"--- FAIL: {test}: race detected during execution of test",
        root_cause=(
            f"Pool.Len reads the counter without the mutex that release() holds "
            f"(internal/{noun}/pool.go:{at}); the race shows up only under some "
            "goroutine schedules, so the test fails now and then."
        ),
        suggested_fix="Read the counter under the mutex or make it an atomic.Int64.",
        command="go test -race ./...",
        output=output,
    )


@registry.add(
    "go.missing_sum",
    FailureType.DEPENDENCY_ERROR,
    stage="build",
    ecosystems="go",
    weight=1.5,
    confidence=0.94,
)
def go_missing_sum(c: Context) -> Failure:
    module = c.pick(GO_MODULES)
    noun = c.noun()
    output = [
        f"internal/{noun}/client.go:{c.num(3, 20)}:2: missing go.sum entry for "
        f"module providing package {module} (imported by {_go_module(c)}/"
        f"internal/{noun}); to add:",
        f"\tgo get {_go_module(c)}/internal/{noun}",
    ]

    return Failure(
        message=f"missing go.sum entry for module providing package {module}",
        root_cause=(
            f"{module} was added to go.mod by hand and `go mod tidy` was not run, "
            "so go.sum lacks its checksum."
        ),
        suggested_fix="Run `go mod tidy` and commit go.mod and go.sum together.",
        command="go build ./...",
        output=output,
    )


@registry.add(
    "go.golangci", FailureType.LINT_ERROR, stage="lint", ecosystems="go", weight=1.5
)
def golangci(c: Context) -> Failure:
    findings = []
    checks = (
        ("Error return value of `w.Write` is not checked", "errcheck"),
        ("ineffectual assignment to err", "ineffassign"),
        ("S1002: should omit comparison to bool constant", "gosimple"),
        ("G107: Potential HTTP request made with variable url", "gosec"),
        ("exported function New should have comment or be unexported", "revive"),
    )
    for _ in range(c.num(1, 4)):
        text, linter = c.pick(checks)
        findings.append(
            f"internal/{c.noun()}/handler.go:{line(c)}:{c.num(2, 30)}: {text} "
            f"({linter})"
        )

    return Failure(
        message=findings[0],
        root_cause=f"golangci-lint reports {len(findings)} issue(s) in new code.",
        suggested_fix=(
            "Fix the findings; run `golangci-lint run` locally before pushing."
        ),
        command="golangci-lint run --timeout 5m",
        output=[*findings, f'level=error msg="{len(findings)} issues found"'],
    )


@registry.add(
    "go.test_timeout",
    FailureType.TIMEOUT,
    stage="test",
    ecosystems="go",
    confidence=0.88,
)
def go_test_timeout(c: Context) -> Failure:
    noun = c.noun()
    test = f"Test{title(noun)}Reconnect"
    limit = c.pick(("10m0s", "5m0s", "15m0s"))

    output = [
        f"=== RUN   {test}",
        f"panic: test timed out after {limit}",
        "\trunning tests:",
        f"\t\t{test} ({limit})",
        "",
        f"goroutine {c.num(20, 300)} [select]:",
        f"{_go_module(c)}/internal/{noun}.(*Client).waitReady(...)",
        f"\t{c.workdir}/internal/{noun}/client.go:{line(c)} +0x{c.hex(3)}",
        f"FAIL\t{_go_module(c)}/internal/{noun}\t{limit}",
    ]

    return Failure(
        message=f"panic: test timed out after {limit} (running {test})",
        root_cause=(
            f"{test} waits forever for a reconnect because the fake server in the "
            "test never closes the first connection."
        ),
        suggested_fix=(
            "Give waitReady a context deadline and close the fake server's "
            "connections in the test."
        ),
        command="go test ./...",
        output=output,
        exit_code=1,
    )


@registry.add(
    "rust.mismatched_types",
    FailureType.COMPILATION_ERROR,
    stage="build",
    ecosystems="rust",
    weight=2,
    confidence=0.93,
)
def rust_mismatched_types(c: Context) -> Failure:
    crate = c.repository.package
    noun = c.noun()
    path = f"src/{noun}.rs"
    at, column = line(c), c.num(9, 50)
    code, text, note = c.pick(
        (
            ("E0308", "mismatched types", "expected `u64`, found `usize`"),
            (
                "E0382",
                f"borrow of moved value: `{noun}`",
                "value borrowed here after move",
            ),
            (
                "E0599",
                f"no method named `as_{noun}` found for struct `{title(noun)}`",
                "method not found in this scope",
            ),
            (
                "E0433",
                f"failed to resolve: use of undeclared crate or module `{noun}_v2`",
                "use of undeclared crate or module",
            ),
        )
    )
    output = [
        f"   Compiling {crate} v{c.version(0, 2)} ({c.workdir})",
        f"error[{code}]: {text}",
        f"  --> {path}:{at}:{column}",
        "   |",
        f"{at} |         let {noun}_len = self.{noun}.len();",
        f"   |         {'^' * 12} {note}",
        "",
        f"For more information about this error, try `rustc --explain {code}`.",
        f"error: could not compile `{crate}` (lib) due to 1 previous error",
    ]

    return Failure(
        message=f"error[{code}]: {text} --> {path}:{at}:{column}",
        root_cause=f"{path}:{at} does not compile on the stable toolchain: {note}.",
        suggested_fix=f"Fix the code at {path}:{at} (see `rustc --explain {code}`).",
        command="cargo build --locked",
        output=output,
        exit_code=101,
    )


@registry.add(
    "rust.test_panic",
    FailureType.TEST_FAILURE,
    stage="test",
    ecosystems="rust",
    weight=2.5,
    confidence=0.82,
)
def rust_test_panic(c: Context) -> Failure:
    crate, noun = c.repository.package, c.noun()
    case = c.pick(
        ("parses_empty_input", "round_trips", "rejects_overflow", "merges_segments")
    )
    test = f"{noun}::tests::{case}"
    at, column = line(c), c.num(5, 30)
    left, right = c.num(0, 64), c.num(0, 64)

    output = [
        f"running {c.num(20, 400)} tests",
        f"test {test} ... FAILED",
        "",
        "failures:",
        f"---- {test} stdout ----",
        f"thread '{test}' panicked at src/{noun}.rs:{at}:{column}:",
        "assertion `left == right` failed",
        f"  left: {left}",
        f" right: {right}",
        "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
        "",
        f"test result: FAILED. {c.num(20, 400)} passed; 1 failed; 0 ignored",
        f"error: test failed, to rerun pass `-p {crate} --lib`",
    ]

    return Failure(
        message=(
            f"thread '{test}' panicked at src/{noun}.rs:{at}:{column}: assertion "
            "`left == right` failed"
        ),
        root_cause=(
            f"{test} expects {right} but gets {left}: the {noun} encoder now "
            "writes a length prefix the decoder in the test does not skip."
        ),
        suggested_fix=(
            "Update the decoder to read the length prefix (and bump the format "
            "version)."
        ),
        command="cargo test --workspace",
        output=output,
        exit_code=101,
    )


@registry.add("rust.clippy", FailureType.LINT_ERROR, stage="lint", ecosystems="rust")
def clippy(c: Context) -> Failure:
    lint, text = c.pick(
        (
            (
                "clippy::needless_borrow",
                (
                    "this expression creates a reference which is immediately "
                    "dereferenced by the compiler"
                ),
            ),
            ("clippy::redundant_clone", "redundant clone"),
            ("clippy::unwrap_used", "used `unwrap()` on a `Result` value"),
            ("clippy::large_enum_variant", "large size difference between variants"),
        )
    )
    path = f"src/{c.noun()}.rs:{line(c)}:{c.num(5, 40)}"

    output = [
        f"error: {text}",
        f"  --> {path}",
        f"  = note: `-D {lint.replace('::', '::')}` implied by `-D warnings`",
        (
            f"error: could not compile `{c.repository.package}` (lib) due to 1 "
            "previous error"
        ),
    ]

    return Failure(
        message=f"error: {text} ({lint}) at {path}",
        root_cause=f"CI denies clippy warnings and {path} triggers {lint}.",
        suggested_fix=(
            "Apply clippy's suggestion (`cargo clippy --fix`) or allow the lint "
            "locally with a reason."
        ),
        command="cargo clippy --all-targets -- -D warnings",
        output=output,
        exit_code=101,
    )


@registry.add(
    "rust.version_select",
    FailureType.DEPENDENCY_ERROR,
    stage="build",
    ecosystems="rust",
    confidence=0.9,
)
def version_select(c: Context) -> Failure:
    crate = c.pick(CRATES)
    major = c.num(1, 4)
    output = [
        "    Updating crates.io index",
        f"error: failed to select a version for the requirement `{crate} = "
        f'"^{major}.{c.num(0, 40)}"`',
        f"candidate versions found which didn't match: {major - 1}.{c.num(0, 99)}.3, "
        f"{major - 1}.{c.num(0, 99)}.1",
        "location searched: crates.io index",
        f"required by package `{c.repository.package} v{c.version(0, 1)}`",
    ]

    return Failure(
        message=(
            f"error: failed to select a version for the requirement `{crate} = "
            f'"^{major}"`'
        ),
        root_cause=(
            f"Cargo.toml asks for {crate} {major}.x, which is not published yet."
        ),
        suggested_fix=(
            f"Depend on the latest published {crate} release; bump when {major}.0 "
            "ships."
        ),
        command="cargo build --locked",
        output=output,
        exit_code=101,
    )


@registry.add(
    "cpp.compile_error",
    FailureType.COMPILATION_ERROR,
    stage="build",
    ecosystems="cpp",
    weight=2,
    confidence=0.9,
)
def cpp_compile_error(c: Context) -> Failure:
    noun = c.noun()
    path = f"src/{noun}/{noun}_{c.pick(('impl', 'pool', 'codec'))}.cpp"
    at, column = line(c), c.num(5, 40)
    text, cause = c.pick(
        (
            (
                "'string_view' is not a member of 'std'",
                (
                    "the file relies on a transitive <string_view> include that GCC 13 "
                    "no longer provides"
                ),
            ),
            (
                f"no matching function for call to '{noun}_init(int&)'",
                f"the {noun}_init signature changed in the public header",
            ),
            (
                "'uint8_t' was not declared in this scope",
                "<cstdint> is not included and GCC 13 stopped pulling it in",
            ),
        )
    )
    output = [
        f"[ {c.num(10, 90)}%] Building CXX object CMakeFiles/{noun}.dir/{path}.o",
        f"{c.workdir}/{path}: In function 'void {noun}::flush()':",
        f"{c.workdir}/{path}:{at}:{column}: error: {text}",
        f"  {at} |     auto view = std::string_view{{buffer, size}};",
        "      |                      ^~~~~~~~~~~",
        f"gmake[2]: *** [CMakeFiles/{noun}.dir/build.make:{c.num(70, 300)}: "
        f"CMakeFiles/{noun}.dir/{path}.o] Error 1",
        "gmake: *** [Makefile:146: all] Error 2",
    ]

    return Failure(
        message=f"{path}:{at}:{column}: error: {text}",
        root_cause=f"{path}:{at} fails with the new compiler because {cause}.",
        suggested_fix=(
            "Include the header the code uses directly, and build with the new "
            "compiler locally."
        ),
        command="cmake --build build -j 4",
        output=output,
        exit_code=2,
    )


@registry.add(
    "cpp.undefined_reference",
    FailureType.BUILD_FAILURE,
    stage="build",
    ecosystems="cpp",
    weight=1.5,
    confidence=0.86,
)
def undefined_reference(c: Context) -> Failure:
    noun = c.noun()
    symbol = f"{noun}::{c.pick(('Encoder', 'Pool', 'Driver'))}::reset()"
    output = [
        f"[ 97%] Linking CXX executable {noun}_tests",
        f"/usr/bin/ld: CMakeFiles/{noun}_tests.dir/test/{noun}_test.cpp.o: in "
        f"function `{noun}_test_reset':",
        f"{noun}_test.cpp:(.text+0x{c.hex(3)}): undefined reference to `{symbol}'",
        "collect2: error: ld returned 1 exit status",
        f"gmake[2]: *** [CMakeFiles/{noun}_tests.dir/build.make:{c.num(90, 200)}: "
        f"{noun}_tests] Error 1",
    ]

    return Failure(
        message=f"undefined reference to `{symbol}'",
        root_cause=(
            f"src/{noun}/{noun}.cpp, which defines {symbol}, was left out of the "
            "target's sources in CMakeLists.txt."
        ),
        suggested_fix=(
            f"Add src/{noun}/{noun}.cpp to the library target in CMakeLists.txt."
        ),
        command="cmake --build build",
        output=output,
        exit_code=2,
    )


@registry.add(
    "cpp.cmake_package",
    FailureType.CONFIGURATION_ERROR,
    stage="build",
    ecosystems="cpp",
    confidence=0.9,
)
def cmake_package(c: Context) -> Failure:
    package = c.pick(("Boost", "OpenSSL", "Protobuf", "fmt", "GTest"))
    at = c.num(10, 90)
    output = [
        "-- The CXX compiler identification is GNU 13.2.0",
        f"CMake Error at CMakeLists.txt:{at} (find_package):",
        f'  Could not find a package configuration file provided by "{package}"',
        "  with any of the following names:",
        f"    {package}Config.cmake",
        f"    {package.lower()}-config.cmake",
        "-- Configuring incomplete, errors occurred!",
    ]

    return Failure(
        message=(
            f"CMake Error at CMakeLists.txt:{at} (find_package): Could not find a "
            f'package configuration file provided by "{package}"'
        ),
        root_cause=(
            f"The build image does not have {package}; it used to come from the "
            "runner image, which dropped it."
        ),
        suggested_fix=(
            f"Install {package} through the package manager (Conan/vcpkg) in the "
            "build instead of relying on the image."
        ),
        command="cmake -S . -B build -G Ninja",
        output=output,
    )


@registry.add(
    "cpp.gtest_failure",
    FailureType.TEST_FAILURE,
    stage="test",
    ecosystems="cpp",
    weight=2,
    confidence=0.8,
)
def gtest_failure(c: Context) -> Failure:
    suite = title(c.noun()) + "Test"
    test = c.pick(
        ("WrapsAround", "HandlesEmpty", "ResizesUnderLoad", "RejectsOversize")
    )
    at = line(c)

    output = [
        f"[ RUN      ] {suite}.{test}",
        f"test/{c.noun()}_test.cpp:{at}: Failure",
        "Expected equality of these values:",
        "  buffer.size()",
        f"    Which is: {c.num(0, 9)}",
        f"  {c.num(10, 64)}u",
        f"[  FAILED  ] {suite}.{test} ({c.num(0, 40)} ms)",
        f"[==========] {c.num(20, 300)} tests from {c.num(3, 30)} test suites ran.",
        "[  FAILED  ] 1 test, listed below:",
        f"[  FAILED  ] {suite}.{test}",
    ]

    return Failure(
        message=(
            f"[  FAILED  ] {suite}.{test}: test/{c.noun()}_test.cpp:{at}: Expected "
            "equality of these values"
        ),
        root_cause=(
            f"{suite}.{test} fails after the capacity computation changed to round "
            "down."
        ),
        suggested_fix=(
            "Round the capacity up to the next power of two as before, or update "
            "the test."
        ),
        command="ctest --output-on-failure",
        output=output,
        exit_code=8,
    )
