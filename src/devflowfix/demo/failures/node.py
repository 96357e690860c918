"""Failures of JavaScript and TypeScript projects: npm, yarn, jest, tsc, bundlers."""

from __future__ import annotations

from devflowfix.demo.failures.base import Context, Failure, Registry
from devflowfix.demo.failures.pools import line, title
from devflowfix.vocabulary import FailureType

registry = Registry()

# Jest and Playwright separate a test's describe blocks with this character.
NEXT = "\u203a"

PEERS = (
    ("react", "react-beautiful-dnd", "react-dnd-html5-backend"),
    ("eslint", "eslint-plugin-import", "eslint-config-airbnb"),
    ("typescript", "@typescript-eslint/parser", "ts-jest"),
    ("webpack", "html-webpack-plugin", "webpack-dev-server"),
    ("@angular/core", "@ngrx/store", "@angular/cdk"),
    ("vite", "vite-plugin-pwa", "@vitejs/plugin-react"),
    ("next", "next-auth", "@next/mdx"),
)
NPM_PACKAGES = (
    "lodash",
    "axios",
    "dayjs",
    "zod",
    "uuid",
    "chalk",
    "express",
    "graphql",
    "react-query",
    "date-fns",
    "sharp",
    "esbuild",
    "jsonwebtoken",
    "pino",
)
COMPONENTS = (
    "CartSummary",
    "CheckoutForm",
    "UserMenu",
    "InvoiceTable",
    "DateRangePicker",
    "SearchBar",
    "PaymentMethods",
    "Sidebar",
    "OrderTimeline",
    "ChartPanel",
)


def _major(c: Context) -> tuple[int, str]:
    major = c.num(5, 18)
    return major, f"{major}.{c.num(0, 12)}.{c.num(0, 9)}"


@registry.add(
    "node.npm_eresolve",
    FailureType.DEPENDENCY_ERROR,
    stage="build",
    ecosystems="node",
    weight=3,
    confidence=0.95,
)
def npm_eresolve(c: Context) -> Failure:
    host, dependent, _ = c.pick(PEERS)
    major, found = _major(c)
    dependent_version = c.version(1, 13)
    repository = c.repository

    output = [
        "npm ERR! code ERESOLVE",
        "npm ERR! ERESOLVE unable to resolve dependency tree",
        "npm ERR!",
        f"npm ERR! While resolving: @{repository.owner}/{repository.name}@"
        f"{c.version(0, 4)}",
        f"npm ERR! Found: {host}@{found}",
        f"npm ERR! node_modules/{host}",
        f'npm ERR!   {host}@"^{found}" from the root project',
        "npm ERR!",
        "npm ERR! Could not resolve dependency:",
        f'npm ERR! peer {host}@"^{major - 1}.0.0" from {dependent}@{dependent_version}',
        f"npm ERR! node_modules/{dependent}",
        f'npm ERR!   {dependent}@"^{dependent_version}" from the root project',
        "npm ERR!",
        "npm ERR! Fix the upstream dependency conflict, or retry",
        "npm ERR! this command with --force or --legacy-peer-deps",
        "npm ERR! to accept an incorrect (and potentially broken) dependency "
        "resolution.",
    ]

    return Failure(
        message=(
            f"npm ERR! code ERESOLVE: unable to resolve dependency tree "
            f"({dependent}@{dependent_version} needs peer {host}@^{major - 1}.0.0, "
            f"found {host}@{found})"
        ),
        root_cause=(
            f"The upgrade to {host} {major} is not supported by {dependent} "
            f"{dependent_version}, whose peer range stops at {major - 1}.x."
        ),
        suggested_fix=(
            f"Upgrade {dependent} to a release that accepts {host} {major}, or "
            f"hold {host} at {major - 1}.x; avoid --legacy-peer-deps in CI."
        ),
        command="npm ci",
        output=output,
    )


@registry.add(
    "node.npm_e404",
    FailureType.DEPENDENCY_ERROR,
    stage="build",
    ecosystems="node",
    weight=1,
    confidence=0.9,
)
def npm_e404(c: Context) -> Failure:
    scope = c.repository.owner
    package = f"{c.pick(('ui', 'config', 'eslint-config', 'api-client'))}-{c.noun()}"
    version = c.version(1, 4)

    output = [
        "npm ERR! code E404",
        f"npm ERR! 404 Not Found - GET https://registry.npmjs.org/@{scope}%2f"
        f"{package} - Not found",
        f"npm ERR! 404  '@{scope}/{package}@^{version}' is not in this registry.",
        "npm ERR! 404",
        "npm ERR! 404 Note that you can also install from a",
        "npm ERR! 404 tarball, folder, http url, or git url.",
    ]

    return Failure(
        message=(
            "npm ERR! 404 Not Found - GET "
            f"https://registry.npmjs.org/@{scope}%2f{package}"
        ),
        root_cause=(
            f"@{scope}/{package} is published to the private registry, but the job's "
            f".npmrc has no `@{scope}:registry` line, so npm asks the public one."
        ),
        suggested_fix=(
            f"Add `@{scope}:registry=https://npm.pkg.github.com` to .npmrc (or let "
            "setup-node write it with `registry-url` and `scope`)."
        ),
        command="npm ci",
        output=output,
    )


@registry.add(
    "node.jest_expectation",
    FailureType.TEST_FAILURE,
    stage="test",
    ecosystems="node",
    weight=4,
    confidence=0.8,
)
def jest_expectation(c: Context) -> Failure:
    component, noun = c.pick(COMPONENTS), c.noun()
    test_file = f"src/components/{component}/{component}.test.tsx"
    at, column = line(c), c.num(20, 60)
    expected, received = f"{c.num(2, 90)}.00", f"{c.num(2, 90)}.50"
    behaviour = (
        f"shows the {noun} total {c.pick(('after a discount', 'in EUR', 'with tax'))}"
    )
    total = c.num(60, 900)

    output = [
        f"FAIL {test_file}",
        f"  ● {component} {NEXT} {behaviour}",
        "",
        "    expect(received).toBe(expected) // Object.is equality",
        "",
        f'    Expected: "{expected}"',
        f'    Received: "{received}"',
        "",
        f"      {at - 1} |     render(<{component} {noun}={{fixture}} />);",
        (
            f"    > {at} |     "
            f"expect(screen.getByTestId('total')).toHaveTextContent('{expected}');"
        ),
        "",
        f"      at Object.<anonymous> ({test_file}:{at}:{column})",
        "",
        f"Tests:       1 failed, {total - 1} passed, {total} total",
        f"Time:        {c.seconds(8, 120)} s",
    ]

    return Failure(
        message=f"FAIL {test_file}: {component} {NEXT} {behaviour}",
        root_cause=(
            f"{component} now formats the {noun} total before applying the "
            f"rounding rule, so it renders {received} where the test expects "
            f"{expected} ({test_file}:{at})."
        ),
        suggested_fix=(
            "Round in the selector before formatting, as the pricing module does, "
            "and keep the test's expectation."
        ),
        command="npm test -- --ci",
        output=output,
    )


@registry.add(
    "node.playwright_flaky",
    FailureType.FLAKY_TEST,
    stage="e2e",
    ecosystems="node",
    weight=2.5,
    confidence=0.72,
)
def playwright_flaky(c: Context) -> Failure:
    noun = c.noun()
    spec = f"tests/e2e/{noun}.spec.ts"
    label = c.pick(("Save", "Pay now", "Continue", "Apply", "Sign in", "Export"))
    at = line(c)
    wait = c.pick((5000, 10000, 15000))
    case = f"user can {label.lower()}"

    output = [
        f"Running {c.num(40, 300)} tests using 2 workers",
        f"  1) [chromium] {NEXT} {spec}:{at}:5 {NEXT} {title(noun)} {NEXT} {case}",
        f"    Error: Timed out {wait}ms waiting for expect(locator).toBeVisible()",
        f"    Locator: getByRole('button', {{ name: '{label}' }})",
        "    Expected: visible",
        "    Received: <element(s) not found>",
        f"      at {spec}:{at + 3}:{c.num(10, 40)}",
        "    Retry #1 ───────────────────────────────────────────────────────",
        "  1 flaky",
        f"    [chromium] {NEXT} {spec}:{at}:5 {NEXT} {title(noun)} {NEXT} {case}",
    ]

    return Failure(
        message=(
            f"[chromium] {spec}:{at} user can {label.lower()}: Timed out {wait}ms "
            "waiting for expect(locator).toBeVisible()"
        ),
        root_cause=(
            f"The '{label}' button renders only after the {noun} request resolves; "
            "on slow runners that takes longer than the expectation timeout, so the "
            "test fails on the first try and passes on retry."
        ),
        suggested_fix=(
            f"Wait for the {noun} response (page.waitForResponse) before the "
            "assertion instead of relying on the default timeout."
        ),
        command="npx playwright test",
        output=output,
    )


TS_ERRORS = (
    (
        "TS2345",
        "Argument of type 'string' is not assignable to parameter of type 'number'.",
    ),
    ("TS2339", "Property '{noun}Id' does not exist on type '{type}'."),
    ("TS2307", "Cannot find module './{type}' or its corresponding type declarations."),
    ("TS2322", "Type 'undefined' is not assignable to type '{type}'."),
    ("TS7006", "Parameter '{noun}' implicitly has an 'any' type."),
)


@registry.add(
    "node.tsc",
    FailureType.COMPILATION_ERROR,
    stage="build",
    ecosystems="node",
    weight=2,
    confidence=0.92,
)
def tsc(c: Context) -> Failure:
    errors = []
    for _ in range(c.num(1, 4)):
        noun = c.noun()
        code, text = c.pick(TS_ERRORS)
        where = f"src/{c.pick(('api', 'store', 'pages', 'lib'))}/{noun}.ts"
        text = text.format(noun=noun, type=title(noun) + "Response")
        errors.append(f"{where}({line(c)},{c.num(3, 50)}): error {code}: {text}")

    files = len({error.split("(")[0] for error in errors})

    return Failure(
        message=errors[0],
        root_cause=(
            "The API types were regenerated and the calling code no longer "
            "type-checks: " + errors[0]
        ),
        suggested_fix="Update the callers to the new types and run `tsc --noEmit`.",
        command="npx tsc --noEmit",
        output=[*errors, "", f"Found {len(errors)} errors in {files} files."],
        exit_code=2,
    )


ESLINT_RULES = (
    (
        "error",
        "'{noun}' is assigned a value but never used",
        "@typescript-eslint/no-unused-vars",
    ),
    (
        "error",
        "React Hook useEffect has a missing dependency: 'load{Noun}'",
        "react-hooks/exhaustive-deps",
    ),
    ("error", "Unexpected console statement", "no-console"),
    ("error", "Promises must be awaited", "@typescript-eslint/no-floating-promises"),
    (
        "warning",
        "Unexpected any. Specify a different type",
        "@typescript-eslint/no-explicit-any",
    ),
)


@registry.add(
    "node.eslint", FailureType.LINT_ERROR, stage="lint", ecosystems="node", weight=2
)
def eslint(c: Context) -> Failure:
    component = c.pick(COMPONENTS)
    path = f"{c.workdir}/src/components/{component}.tsx"
    problems = []
    for _ in range(c.num(1, 4)):
        noun = c.noun()
        level, text, rule = c.pick(ESLINT_RULES)
        text = text.format(noun=noun, Noun=title(noun))
        problems.append(f"  {line(c)}:{c.num(3, 40)}  {level}  {text}  {rule}")

    errors = sum(" error " in problem for problem in problems)
    warnings = len(problems) - errors
    summary = f"✖ {len(problems)} problems ({errors} errors, {warnings} warnings)"

    return Failure(
        message=f"eslint: {summary[2:]} in src/components/{component}.tsx",
        root_cause=(
            f"src/components/{component}.tsx breaks lint rules enforced in CI: "
            + problems[0].strip()
        ),
        suggested_fix="Run `npx eslint --fix` and fix the remaining rules by hand.",
        command="npx eslint . --max-warnings 0",
        output=[path, *problems, "", summary],
    )


@registry.add(
    "node.heap_out_of_memory",
    FailureType.OUT_OF_MEMORY,
    stage="build",
    ecosystems="node",
    weight=1.5,
    confidence=0.94,
)
def heap_out_of_memory(c: Context) -> Failure:
    pid, heap = c.num(1800, 9000), c.pick((2048, 4096))
    ms = c.num(60000, 400000)
    output = [
        "vite v5.3.1 building for production...",
        f"transforming ({c.num(3000, 9000)}) node_modules/.pnpm/...",
        "",
        "<--- Last few GCs --->",
        f"[{pid}:0x{c.hex(7)}]   {ms} ms: Mark-Compact {heap - 30}.6 "
        f"({heap + 40}.3) -> "
        f"{heap - 40}.5 ({heap + 42}.3) MB, {c.seconds(900, 2600)} / 0.00 ms  "
        "allocation failure; scavenge might not succeed",
        "",
        "<--- JS stacktrace --->",
        "",
        "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of "
        "memory",
        " 1: 0xb8d0a3 node::Abort() [node]",
        " 2: 0xa981b2 node::OOMErrorHandler(char const*, v8::OOMDetails const&) [node]",
    ]

    return Failure(
        message=(
            "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap "
            "out of memory"
        ),
        root_cause=(
            f"The production build needs more than the {heap} MB old-space limit "
            "since source maps were enabled for every chunk."
        ),
        suggested_fix=(
            "Raise the limit for the build step (`NODE_OPTIONS=--max-old-space-size"
            "=6144`) or generate source maps only for the app chunks."
        ),
        command="npm run build",
        output=output,
        exit_code=134,
    )


@registry.add(
    "node.module_not_found",
    FailureType.BUILD_FAILURE,
    stage="build",
    ecosystems="node",
    weight=2,
    confidence=0.87,
)
def module_not_found(c: Context) -> Failure:
    component = c.pick(COMPONENTS)
    page = title(c.noun()) + "Page"
    at = c.num(1, 30)
    wrong = component[0].lower() + component[1:]

    output = [
        "> webpack --mode production",
        "",
        f"assets by status {c.num(200, 900)} KiB [cached] {c.num(3, 30)} assets",
        f"ERROR in ./src/pages/{page}.tsx {at}:0-{c.num(30, 60)}",
        f"Module not found: Error: Can't resolve './components/{wrong}' in "
        f"'{c.workdir}/src/pages'",
        "",
        f"webpack compiled with 1 error in {c.num(9000, 90000)} ms",
    ]

    return Failure(
        message=(
            f"Module not found: Error: Can't resolve './components/{wrong}' in "
            f"'{c.workdir}/src/pages'"
        ),
        root_cause=(
            f"src/pages/{page}.tsx:{at} imports './components/{wrong}', but the file "
            f"is {component}.tsx; macOS resolves the name case-insensitively, the "
            "Linux runner does not."
        ),
        suggested_fix=(
            f"Fix the import's case to './components/{component}' and enable "
            "`forceConsistentCasingInFileNames`."
        ),
        command="npm run build",
        output=output,
    )


@registry.add(
    "node.econnreset",
    FailureType.NETWORK_ERROR,
    stage="build",
    ecosystems="node",
    weight=1.5,
    confidence=0.85,
)
def econnreset(c: Context) -> Failure:
    package, version = c.pick(NPM_PACKAGES), c.version(1, 9)
    if c.chance(0.5):
        host = "registry.npmjs.org"
        output = [
            "npm ERR! code ECONNRESET",
            "npm ERR! syscall read",
            "npm ERR! errno ECONNRESET",
            f"npm ERR! network request to https://{host}/{package}/-/{package}-"
            f"{version}.tgz failed, reason: read ECONNRESET",
            "npm ERR! network This is a problem related to network connectivity.",
            "npm ERR! network In most cases you are behind a proxy or have bad "
            "network settings.",
        ]
        message = (
            f"npm ERR! network request to https://{host}/{package} failed, reason: "
            "read ECONNRESET"
        )
        command = "npm ci"
    else:
        host = "registry.yarnpkg.com"
        output = [
            "[1/4] Resolving packages...",
            "[2/4] Fetching packages...",
            "info There appears to be trouble with your network connection. "
            "Retrying...",
            f'error An unexpected error occurred: "https://{host}/{package}/-/'
            f'{package}-{version}.tgz: getaddrinfo EAI_AGAIN {host}".',
        ]
        message = f"getaddrinfo EAI_AGAIN {host} while fetching {package}-{version}.tgz"
        command = "yarn install --frozen-lockfile"

    return Failure(
        message=message,
        root_cause=(
            f"The connection to {host} was dropped mid-download; the runner's "
            f"egress proxy restarted at the time ({c.num(3, 40)} other jobs failed "
            "the same way within minutes)."
        ),
        suggested_fix=(
            "Re-run the job; cache the package store between runs and set "
            "`fetch-retries` so a short network blip does not fail the build."
        ),
        command=command,
        output=output,
    )


@registry.add(
    "node.npm_e401",
    FailureType.AUTHENTICATION_ERROR,
    stage="build",
    ecosystems="node",
    weight=1,
    confidence=0.92,
)
def npm_e401(c: Context) -> Failure:
    owner = c.repository.owner
    package = f"{c.pick(('ui-kit', 'tokens', 'api-client', 'icons'))}"
    output = [
        "npm ERR! code E401",
        'npm ERR! Unable to authenticate, need: Basic realm="GitHub Package Registry"',
        f"npm ERR! 401 Unauthorized - GET https://npm.pkg.github.com/@{owner}%2f"
        f"{package} - authentication token not provided",
    ]

    return Failure(
        message=(
            "npm ERR! 401 Unauthorized - GET "
            f"https://npm.pkg.github.com/@{owner}%2f{package}"
        ),
        root_cause=(
            "The job installs packages from GitHub Packages without a token: "
            "NODE_AUTH_TOKEN is empty because the secret is not shared with "
            "workflows started from forks and Dependabot."
        ),
        suggested_fix=(
            "Expose a read:packages token as NODE_AUTH_TOKEN for this job (a "
            "Dependabot secret for Dependabot runs)."
        ),
        command="npm ci",
        output=output,
    )


@registry.add(
    "node.eacces",
    FailureType.PERMISSION_DENIED,
    stage="build",
    ecosystems="node",
    weight=0.8,
    confidence=0.9,
)
def eacces(c: Context) -> Failure:
    tool = c.pick(("pnpm", "@angular/cli", "firebase-tools", "vercel", "turbo"))
    path = f"/usr/local/lib/node_modules/{tool}"
    output = [
        "npm ERR! code EACCES",
        "npm ERR! syscall mkdir",
        f"npm ERR! path {path}",
        "npm ERR! errno -13",
        f"npm ERR! Error: EACCES: permission denied, mkdir '{path}'",
        "npm ERR! The operation was rejected by your operating system.",
    ]

    return Failure(
        message=f"npm ERR! Error: EACCES: permission denied, mkdir '{path}'",
        root_cause=(
            f"`npm install -g {tool}` writes to /usr/local/lib, which belongs to "
            "root on the self-hosted runner; the job runs as the `runner` user."
        ),
        suggested_fix=(
            f"Run the tool with `npx {tool}` or set `npm config set prefix "
            "~/.npm-global` for the job instead of installing globally as root."
        ),
        command=f"npm install -g {tool}",
        output=output,
        exit_code=243,
    )
