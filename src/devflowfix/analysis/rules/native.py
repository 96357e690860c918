"""Compiled ecosystems: Go, Rust, C and C++ (gcc, clang, CMake, make), .NET."""

from __future__ import annotations

from devflowfix.analysis.rules.base import Rule, Tier, rule
from devflowfix.vocabulary import FailureType as F

C_SOURCE = r"(?:c|cc|cpp|cxx|c\+\+|h|hh|hpp|hxx|m|mm)"

RULES: tuple[Rule, ...] = (
    rule(
        "go.test_timeout",
        F.TIMEOUT,
        Tier.CAUSE,
        r"^panic: test timed out after (?P<limit>[\w.]{1,20})",
        keywords=["test timed out after"],
        cause="Go tests ran past the -timeout of {limit} and were stopped.",
        fix="Look at the goroutine dump under the panic for the test that "
        "hangs (usually waiting on a channel, lock or network) and fix it.",
        examples=["panic: test timed out after 10m0s"],
    ),
    rule(
        "go.test_failed",
        F.TEST_FAILURE,
        Tier.TOOL,
        r"^\s{0,8}--- FAIL: (?P<test>[\w/#.\-]{1,200}) \((?P<seconds>[\d.]{1,10})s\)",
        keywords=["--- fail:"],
        cause="Go test failed: {test_list}.",
        fix="Run `go test -run` with the test name and `-v` locally; the "
        "lines above the FAIL show the failed check.",
        examples=["--- FAIL: TestCheckoutTotal (0.02s)"],
        collect="test",
    ),
    rule(
        "go.data_race",
        F.TEST_FAILURE,
        Tier.CAUSE,
        r"^WARNING: DATA RACE$(?:\n[^\n]{0,300}){0,30}?\n\s{0,8}(?P<file>[\w/.\-]"
        r"{1,200}\.go):(?P<line>\d{1,7})",
        keywords=["data race"],
        on_warnings=True,
        cause="The race detector found a data race at {file}:{line}.",
        fix="Guard the shared state at {file}:{line} with a mutex or channel, "
        "or stop sharing it between goroutines.",
        examples=[
            "WARNING: DATA RACE\nWrite at 0x00c0001a4018 by goroutine 8:\n"
            "  github.com/acme/cache.(*Store).Put()\n"
            "      /home/runner/work/cache/store.go:41 +0x64"
        ],
    ),
    rule(
        "go.module",
        F.DEPENDENCY_ERROR,
        Tier.CAUSE,
        r"missing go\.sum entry for module providing package (?P<module>\S{1,200})"
        r"|go: updates to go\.mod needed"
        r"|go: (?P<module2>[\w./\-]{1,200})@[\w.\-+]{1,80}: "
        r"(?:reading|verifying|invalid version|unknown revision)[^\n]{0,200}",
        keywords=["go.sum", "go: "],
        cause="Go's module files are out of step with the code[: the module "
        "{module} cannot be found at a usable version].",
        fix="Run `go mod tidy` locally, check the module path and version, and "
        "commit go.mod and go.sum.",
        examples=[
            "go: github.com/acme/ledger@v1.9.0: reading github.com/acme/ledger/"
            "go.mod at revision v1.9.0: unknown revision v1.9.0"
        ],
    ),
    rule(
        "go.vet_lint",
        F.LINT_ERROR,
        Tier.TOOL,
        r"^(?P<file>[\w/.\-]{1,200}\.go):(?P<line>\d{1,7}):\d{1,5}: "
        r"(?P<message>[^\n]{1,200}) \((?P<linter>[a-z][\w-]{1,40})\)$",
        keywords=[".go:"],
        cause="golangci-lint ({linter}) reports {file}:{line}: {message}.",
        fix="Fix the finding at {file}:{line}; run `golangci-lint run` locally.",
        examples=[
            "internal/api/handler.go:57:12: Error return value of `w.Write` is "
            "not checked (errcheck)"
        ],
    ),
    rule(
        "go.compile",
        F.COMPILATION_ERROR,
        Tier.TOOL,
        r"^(?:vet: )?(?P<file>\.{0,2}/?[\w/.\-]{1,200}\.go):(?P<line>\d{1,7}):\d{1,5}: "
        r"(?P<message>(?:\"[^\"\n]{1,200}\" )?(?:undefined|cannot use|syntax error|"
        r"declared and not used|imported and not used|too many|not enough|missing "
        r"return|invalid operation|expected)[^\n]{0,200})",
        keywords=[".go:"],
        cause="Go does not compile: {file}:{line}: {message}.",
        fix="Fix the error at {file}:{line}; `go build ./...` reproduces it.",
        examples=["./main.go:23:2: undefined: loadConfig"],
    ),
    rule(
        "rust.compile",
        F.COMPILATION_ERROR,
        Tier.TOOL,
        r"^error(?:\[(?P<code>E\d{4})\])?: (?P<message>[^\n]{1,200})\n\s{0,8}--> "
        r"(?P<file>[\w/.\-]{1,200}\.rs):(?P<line>\d{1,7})",
        keywords=["-->"],
        cause="Rust does not compile: {message} in {file} at line {line} ({code}).",
        fix="Fix the error at {file}:{line}; `cargo check` shows it with the "
        "compiler's suggestion.",
        examples=[
            "error[E0425]: cannot find value `total` in this scope\n  --> "
            "src/cart.rs:42:9"
        ],
    ),
    rule(
        "rust.clippy",
        F.LINT_ERROR,
        Tier.CAUSE,
        r"= note: `#\[deny\((?P<lint>clippy::[\w_]{1,80})\)\]`|"
        r"^error: (?P<lint2>[^\n]{1,200})\n(?:[^\n]{0,300}\n){1,12}?\s{0,8}= help: "
        r"for further information visit https://rust-lang\.github\.io/rust-clippy",
        keywords=["clippy"],
        cause="Clippy rejects the code: {lint}.",
        fix="Apply Clippy's suggestion (`cargo clippy --fix`) or allow the "
        "lint where it is intended.",
        examples=["  = note: `#[deny(clippy::needless_return)]` on by default"],
    ),
    rule(
        "rust.rustfmt",
        F.LINT_ERROR,
        Tier.TOOL,
        r"^Diff in (?P<file>[^\n]{1,200}\.rs) at line (?P<line>\d{1,7}):",
        keywords=["diff in"],
        cause="`cargo fmt --check` failed: {file} is not formatted (line {line}).",
        fix="Run `cargo fmt` and commit the result.",
        examples=["Diff in /home/runner/work/api/src/main.rs at line 12:"],
    ),
    rule(
        "rust.test_failed",
        F.TEST_FAILURE,
        Tier.TOOL,
        r"^test (?P<test>[\w:]{1,200}) \.\.\. FAILED$",
        keywords=["... failed"],
        cause="Rust test failed: {test_list}.",
        fix="Run `cargo test` with the test name locally; the `---- stdout "
        "----` section shows the panic.",
        examples=["test cart::tests::applies_discount ... FAILED"],
        collect="test",
    ),
    rule(
        "cargo.dependency",
        F.DEPENDENCY_ERROR,
        Tier.CAUSE,
        r"error: failed to select a version for the requirement `(?P<requirement>"
        r"[^`\n]{1,120})`|error: no matching package named `(?P<requirement2>"
        r"[^`\n]{1,120})` found",
        keywords=["failed to select a version", "no matching package named"],
        cause="Cargo cannot resolve the dependency {requirement}.",
        fix="Check the crate name and version in Cargo.toml, run `cargo "
        "update`, and commit Cargo.lock.",
        examples=[
            'error: failed to select a version for the requirement `tokio = "^9.0"`'
        ],
    ),
    rule(
        "c.missing_header",
        F.DEPENDENCY_ERROR,
        Tier.CAUSE,
        r"^(?P<file>[\w/.\-]{1,200}\." + C_SOURCE + r"):(?P<line>\d{1,7}):\d{1,5}: "
        r"fatal error: (?P<header>[\w/.\-+]{1,120}): No such file or directory",
        keywords=["no such file or directory"],
        cause="The header {header} included by {file}:{line} is not installed "
        "on the runner.",
        fix="Install the development package that provides {header} (for "
        "example with apt-get in the job) or add its include path.",
        examples=[
            "src/tls.c:3:10: fatal error: openssl/ssl.h: No such file or directory"
        ],
    ),
    rule(
        "c.compile",
        F.COMPILATION_ERROR,
        Tier.TOOL,
        r"^(?P<file>[\w/.\-]{1,200}\." + C_SOURCE + r"):(?P<line>\d{1,7}):\d{1,5}: "
        r"(?:fatal )?error: (?P<message>[^\n]{1,200})",
        keywords=[": error:", "fatal error:"],
        cause="The C/C++ compiler rejects {file} at line {line}: {message}.",
        fix="Fix the error at {file}:{line}; the same compiler flags locally "
        "reproduce it.",
        examples=[
            "src/parser.cpp:88:17: error: 'string_view' is not a member of 'std'"
        ],
    ),
    rule(
        "c.link",
        F.COMPILATION_ERROR,
        Tier.TOOL,
        r"undefined reference to `(?P<symbol>[^'\n]{1,200})'|Undefined symbols for "
        r"architecture \w{1,20}",
        keywords=["undefined reference", "undefined symbols"],
        cause="Linking failed: the symbol {symbol} is not defined in any "
        "linked object or library.",
        fix="Link the library that defines {symbol} (target_link_libraries or "
        "-l flags) or add the missing source file to the build.",
        examples=["main.o: in function `main': undefined reference to `sqlite3_open'"],
    ),
    rule(
        "cmake.package",
        F.DEPENDENCY_ERROR,
        Tier.CAUSE,
        r"Could NOT find (?P<package>[\w:]{1,80})|Could not find a package "
        r"configuration file provided by \"(?P<package2>[\w:]{1,80})\"",
        keywords=["could not find"],
        cause="CMake cannot find the package {package}.",
        fix="Install {package} (its -dev package) on the runner, or point "
        "CMAKE_PREFIX_PATH at it.",
        examples=["Could NOT find ZLIB (missing: ZLIB_LIBRARY ZLIB_INCLUDE_DIR)"],
    ),
    rule(
        "cmake.error",
        F.CONFIGURATION_ERROR,
        Tier.TOOL,
        r"^CMake Error at (?P<file>[\w/.\-]{1,200}):(?P<line>\d{1,7})",
        keywords=["cmake error"],
        cause="CMake configuration failed at {file}:{line}.",
        fix="Read the CMake error message below that line and fix "
        "{file}:{line} or the cache variables the job passes.",
        examples=["CMake Error at CMakeLists.txt:24 (add_subdirectory):"],
    ),
    rule(
        "ctest.failed",
        F.TEST_FAILURE,
        Tier.TOOL,
        r"\d{1,3}% tests passed, (?P<failed>\d{1,6}) tests? failed out of "
        r"(?P<total>\d{1,6})",
        keywords=["tests passed"],
        cause="CTest: {failed} of {total} tests failed.",
        fix="Run `ctest --output-on-failure` locally to see the failing tests' output.",
        examples=["75% tests passed, 2 tests failed out of 8"],
    ),
    rule(
        "make.error",
        F.BUILD_FAILURE,
        Tier.GENERIC,
        r"^make(?:\[\d{1,3}\])?: \*\*\* \[(?P<target>[^\]\n]{1,200})\] Error "
        r"(?P<status>\d{1,3})",
        keywords=["make"],
        cause="make failed building {target} (exit status {status}).",
        fix="Scroll to the first error above the make line and fix that; "
        "make reports only the target that failed.",
        weight=1,
        examples=[
            "make[2]: *** [src/CMakeFiles/app.dir/build.make:76: src/app.o] Error 1"
        ],
    ),
    rule(
        "dotnet.compile",
        F.COMPILATION_ERROR,
        Tier.TOOL,
        r"(?<![\w/\\.:\-])(?P<file>[\w/\\.:\-]{1,300}\.(?:cs|fs|vb))"
        r"\((?P<line>\d{1,7}),\d{1,5}\): "
        r"error (?P<code>(?:CS|FS|BC)\d{1,5}): (?P<message>[^\n\[]{1,200})",
        keywords=["): error "],
        cause="The .NET build does not compile: {code} in {file} at line "
        "{line}: {message}.",
        fix="Fix the error at {file}:{line}; `dotnet build` reproduces it.",
        examples=[
            "/home/runner/work/shop/Cart.cs(31,17): error CS0103: The name "
            "'discount' does not exist in the current context [/home/runner/"
            "work/shop/Shop.csproj]"
        ],
    ),
    rule(
        "dotnet.msbuild",
        F.BUILD_FAILURE,
        Tier.TOOL,
        r"error (?P<code>MSB\d{4}): (?P<message>[^\n\[]{1,200})",
        keywords=["error msb"],
        cause="MSBuild failed ({code}): {message}.",
        fix="Run `dotnet build -v n` locally to see the failing target and "
        "the command it ran.",
        examples=[
            'error MSB3073: The command "npm run build" exited with code 1. '
            "[/src/Web/Web.csproj]"
        ],
    ),
    rule(
        "dotnet.nuget",
        F.DEPENDENCY_ERROR,
        Tier.CAUSE,
        r"error (?P<code>NU1\d{3}): (?P<message>[^\n\[]{1,200})",
        keywords=["error nu1"],
        cause="NuGet restore failed ({code}): {message}.",
        fix="Check the package id and version in the project file and the "
        "feeds in nuget.config (private feeds need credentials).",
        examples=[
            "error NU1101: Unable to find package Acme.Ledger. No packages exist "
            "with this id in source(s): nuget.org"
        ],
    ),
    rule(
        "dotnet.sdk",
        F.CONFIGURATION_ERROR,
        Tier.CAUSE,
        r"error (?P<code>NETSDK\d{4}): (?P<message>[^\n\[]{1,200})",
        keywords=["netsdk"],
        cause="The .NET SDK on the runner cannot build the project ({code}): "
        "{message}.",
        fix="Install the SDK the project targets (actions/setup-dotnet, "
        "global.json) or change the target framework.",
        examples=[
            "error NETSDK1045: The current .NET SDK does not support targeting "
            ".NET 9.0."
        ],
    ),
    rule(
        "dotnet.test_failed",
        F.TEST_FAILURE,
        Tier.TOOL,
        r"^\s{0,4}Failed (?P<test>[\w.]{1,200}(?:\([^)\n]{0,100}\))?) "
        r"\[[^\]\n]{1,20}\]$",
        keywords=["failed "],
        requires=["failed!"],
        cause=".NET test failed: {test_list}.",
        fix="Run `dotnet test --filter` with the test name locally and fix the "
        "assertion.",
        examples=[
            "  Failed Shop.Tests.CartTests.AppliesDiscount [12 ms]\n"
            "Failed!  - Failed:     1, Passed:    41"
        ],
        collect="test",
    ),
)
