"""JavaScript and TypeScript: npm, yarn, pnpm, Node, tsc, ESLint, Jest, Vitest."""

from __future__ import annotations

from devflowfix.analysis.rules.base import Rule, Tier, rule
from devflowfix.vocabulary import FailureType as F

# npm 7-9 prefix errors with "npm ERR!", npm 10 with "npm error".
NPM = r"npm (?:ERR!|error)"

RULES: tuple[Rule, ...] = (
    rule(
        "npm.eresolve",
        F.DEPENDENCY_ERROR,
        Tier.CAUSE,
        NPM
        + r" code ERESOLVE(?:\n[^\n]{0,300}){0,12}?\n"
        + NPM
        + r" (?:Could not resolve dependency:\n"
        + NPM
        + r" )?peer (?P<peer>\S{1,120}) from (?P<parent>\S{1,120})",
        keywords=["eresolve"],
        cause="npm cannot resolve the dependency tree: {parent} needs the peer "
        "dependency {peer}, which conflicts with the version the project uses.",
        fix="Align the versions (upgrade {parent} or the peer package), or "
        "install with `--legacy-peer-deps` as a stopgap, then commit the "
        "updated package-lock.json.",
        examples=[
            "npm ERR! code ERESOLVE\nnpm ERR! ERESOLVE unable to resolve dependency "
            "tree\nnpm ERR! Could not resolve dependency:\n"
            'npm ERR! peer react@"^17.0.0" '
            "from react-dom@17.0.2"
        ],
    ),
    rule(
        "npm.not_found",
        F.DEPENDENCY_ERROR,
        Tier.CAUSE,
        NPM + r" 404\s{1,3}(?:Not Found - GET https?://[^/\s]{1,100}/(?P<package>"
        r"\S{1,120})|'(?P<package2>[^'\s]{1,120})' is not in (?:this|the npm) "
        r"registry)",
        keywords=[" 404 "],
        cause="npm cannot find the package {package} in the registry (404).",
        fix="Check the package name and version in package.json; for a private "
        "package, check the registry URL and scope in .npmrc.",
        examples=["npm ERR! 404  'left-padd@^1.3.0' is not in this registry."],
    ),
    rule(
        "npm.lock_out_of_sync",
        F.DEPENDENCY_ERROR,
        Tier.CAUSE,
        r"`npm ci` can only install packages when your package\.json and "
        r"package-lock\.json (?:or npm-shrinkwrap\.json )?are in sync",
        keywords=["are in sync"],
        cause="package-lock.json does not match package.json, so `npm ci` "
        "refuses to install.",
        fix="Run `npm install` locally to update package-lock.json and commit it.",
        examples=[
            "npm ERR! `npm ci` can only install packages when your package.json "
            "and package-lock.json or npm-shrinkwrap.json are in sync."
        ],
    ),
    rule(
        "npm.missing_script",
        F.CONFIGURATION_ERROR,
        Tier.CAUSE,
        NPM + r' Missing script: "(?P<script>[^"\n]{1,100})"',
        keywords=["missing script"],
        cause='package.json has no "{script}" script, which the job runs.',
        fix='Add a "{script}" entry to the scripts of package.json, or call '
        "the script the project defines.",
        examples=['npm ERR! Missing script: "test:ci"'],
    ),
    rule(
        "npm.auth",
        F.AUTHENTICATION_ERROR,
        Tier.CAUSE,
        NPM + r" code E401|" + NPM + r" (?:need auth|Unable to authenticate)"
        r"|Incorrect or missing password",
        keywords=["e401", "need auth", "unable to authenticate", "missing password"],
        cause="The npm registry refused the job's credentials (401).",
        fix="Set a valid token for the registry (NODE_AUTH_TOKEN or .npmrc "
        "`_authToken`) in the job's secrets.",
        examples=["npm ERR! code E401"],
    ),
    rule(
        "yarn.frozen_lockfile",
        F.DEPENDENCY_ERROR,
        Tier.CAUSE,
        r"Your lockfile needs to be updated, but yarn was run with "
        r"`--frozen-lockfile`|The lockfile would have been modified by this "
        r"install, which is explicitly forbidden",
        keywords=["frozen-lockfile", "lockfile would have been modified"],
        cause="yarn.lock is out of date with package.json and the job installs "
        "with a frozen lockfile.",
        fix="Run `yarn install` locally and commit the updated yarn.lock.",
        examples=[
            "error Your lockfile needs to be updated, but yarn was run with "
            "`--frozen-lockfile`."
        ],
    ),
    rule(
        "pnpm.outdated_lockfile",
        F.DEPENDENCY_ERROR,
        Tier.CAUSE,
        r"ERR_PNPM_OUTDATED_LOCKFILE",
        keywords=["err_pnpm_outdated_lockfile"],
        cause="pnpm-lock.yaml is not up to date with package.json, so pnpm "
        "refuses a frozen install.",
        fix="Run `pnpm install` locally and commit the updated pnpm-lock.yaml.",
        examples=[
            ' ERR_PNPM_OUTDATED_LOCKFILE  Cannot install with "frozen-lockfile" '
            "because pnpm-lock.yaml is not up to date with package.json"
        ],
    ),
    rule(
        "pnpm.no_matching_version",
        F.DEPENDENCY_ERROR,
        Tier.CAUSE,
        r"ERR_PNPM_NO_MATCHING_VERSION\s{1,4}No matching version found for "
        r"(?P<package>\S{1,120})",
        keywords=["err_pnpm_no_matching_version"],
        cause="pnpm found no published version of {package}.",
        fix="Check the version range of {package} in package.json against "
        "the versions the registry has.",
        examples=[
            " ERR_PNPM_NO_MATCHING_VERSION  No matching version found for vite@9.9.9"
        ],
    ),
    rule(
        "node.cannot_find_module",
        F.DEPENDENCY_ERROR,
        Tier.CAUSE,
        r"Error: Cannot find module '(?P<module>[^'\n]{1,200})'",
        keywords=["cannot find module"],
        cause="Node cannot load the module '{module}': it is not installed or "
        "the path is wrong.",
        fix="Add '{module}' to package.json dependencies (or fix the import "
        "path) and make sure the job installs dependencies first.",
        examples=["Error: Cannot find module 'dotenv'"],
    ),
    rule(
        "bundler.cannot_resolve",
        F.BUILD_FAILURE,
        Tier.CAUSE,
        r"Module not found: Error: Can't resolve '(?P<module>[^'\n]{1,200})' in "
        r"'(?P<directory>[^'\n]{1,200})'|Could not resolve \"(?P<module2>[^\"\n]"
        r"{1,200})\" from \"(?P<directory2>[^\"\n]{1,200})\"",
        keywords=["can't resolve", 'could not resolve "'],
        cause="The bundler cannot resolve the import '{module}' in {directory}.",
        fix="Fix the import path or add the missing package; check the file "
        "name's case, which matters on Linux runners.",
        examples=[
            "Module not found: Error: Can't resolve './components/Header' in "
            "'/home/runner/work/web/web/src'"
        ],
    ),
    rule(
        "node.heap_oom",
        F.OUT_OF_MEMORY,
        Tier.CAUSE,
        r"JavaScript heap out of memory|Ineffective mark-compacts near heap limit",
        keywords=["heap out of memory", "mark-compacts"],
        cause="Node ran out of heap memory (JavaScript heap out of memory).",
        fix="Raise Node's heap with NODE_OPTIONS=--max-old-space-size=4096, or "
        "reduce what the build holds in memory; use a larger runner if needed.",
        examples=[
            "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap "
            "out of memory"
        ],
    ),
    rule(
        "node.engine_mismatch",
        F.CONFIGURATION_ERROR,
        Tier.CAUSE,
        r'The engine "node" is incompatible with this module\. Expected version '
        r'"(?P<expected>[^"\n]{1,40})"\. Got "(?P<actual>[^"\n]{1,40})"',
        keywords=["is incompatible with this module"],
        cause="The job runs Node {actual}, but a dependency requires Node {expected}.",
        fix="Set the job's Node version to one matching {expected} (for "
        "example in actions/setup-node or the image tag).",
        examples=[
            'error vite@5.0.0: The engine "node" is incompatible with this '
            'module. Expected version "^18.0.0 || >=20.0.0". Got "16.20.2"'
        ],
    ),
    rule(
        "tsc.error",
        F.COMPILATION_ERROR,
        Tier.TOOL,
        r"^(?P<file>[\w/.@\-]{1,200}\.(?:tsx?|mts|cts|vue))(?:\((?P<line>\d{1,7}),"
        r"\d{1,5}\)|:(?P<line2>\d{1,7}):\d{1,5}) ?[:-] error (?P<code>TS\d{1,5}): "
        r"(?P<message>[^\n]{1,200})",
        keywords=["error ts"],
        cause="TypeScript does not compile: {code} in {file} at line {line}: "
        "{message}.",
        fix="Fix the type error at {file}:{line}; run `npx tsc --noEmit` "
        "locally to see every error.",
        examples=[
            "src/api/client.ts(42,7): error TS2322: Type 'string' is not "
            "assignable to type 'number'."
        ],
    ),
    rule(
        "next.type_error",
        F.COMPILATION_ERROR,
        Tier.TOOL,
        r"^(?P<file>\./[\w/.@\[\]\-]{1,200}\.tsx?):(?P<line>\d{1,7}):\d{1,5}\n"
        r"Type error: (?P<message>[^\n]{1,200})",
        keywords=["type error:"],
        cause="TypeScript does not compile in {file} at line {line}: {message}.",
        fix="Fix the type error at {file}:{line}; `npx tsc --noEmit` shows "
        "every error at once.",
        examples=["./src/app/page.tsx:14:22\nType error: Property 'x' does not exist"],
    ),
    rule(
        "eslint.errors",
        F.LINT_ERROR,
        Tier.TOOL,
        r"^\s{0,4}\u2716 (?P<count_problems>\d{1,6}) problems? \((?P<errors>\d{1,6}) "
        r"errors?",
        keywords=["problem"],
        cause="ESLint found {errors} errors ({count_problems} problems in all).",
        fix="Run `npx eslint .` locally (`--fix` repairs many) and commit the fixes.",
        examples=["\u2716 3 problems (2 errors, 1 warning)"],
    ),
    rule(
        "prettier.check",
        F.LINT_ERROR,
        Tier.TOOL,
        r"\[warn\] Code style issues found in (?P<scope>the above file|\d{1,6} "
        r"files)\. (?:Run|Forgot to run) Prettier",
        keywords=["code style issues"],
        on_warnings=True,
        cause="Prettier's check failed: code style issues in {scope}.",
        fix="Run `npx prettier --write .` and commit the result.",
        examples=[
            "[warn] Code style issues found in 2 files. Run Prettier with --write "
            "to fix."
        ],
    ),
    rule(
        "jest.failed",
        F.TEST_FAILURE,
        Tier.TOOL,
        r"^\s{0,4}\u25cf (?P<test>[^\n]{1,200}? \u203a [^\n]{1,200})$",
        keywords=["\u203a"],
        cause="Jest test failed: {test_list}.",
        fix="Run the failing test locally with `npx jest -t` and the test name, "
        "and fix the code or the expectation.",
        examples=["  \u25cf CartTotals \u203a applies the discount code"],
        collect="test",
    ),
    rule(
        "jest.timeout",
        F.TIMEOUT,
        Tier.CAUSE,
        r"Exceeded timeout of (?P<ms>\d{1,8}) ms for a (?:test|hook)",
        keywords=["exceeded timeout of"],
        cause="A Jest test did not finish within {ms} ms and timed out.",
        fix="Make sure the test awaits or resolves what it starts (promises, "
        "timers, servers); raise the timeout only for real slow work.",
        examples=['thrown: "Exceeded timeout of 5000 ms for a test.'],
    ),
    rule(
        "vitest.failed",
        F.TEST_FAILURE,
        Tier.TOOL,
        r"^\s{0,4}(?:FAIL\s{1,3}(?P<test>[\w/.\-]{1,200}\.(?:test|spec)\.[cm]?[jt]sx? "
        r"> [^\n]{1,200})|\u00d7\s{1,3}(?P<test2>[^\n]{1,200}?) \d{1,6}ms$)",
        keywords=[" > ", "\u00d7"],
        cause="Test failed: {test_list}.",
        fix="Run the failing test file locally and fix the code or the expectation.",
        examples=[
            " FAIL  src/utils/date.test.ts > formatDate > pads the month",
            "   \u00d7 formatDate > pads the month 6ms",
        ],
        collect="test",
    ),
    rule(
        "mocha.failing",
        F.TEST_FAILURE,
        Tier.TOOL,
        r"^\s{1,4}(?P<failing>\d{1,6}) failing$",
        keywords=["failing"],
        cause="{failing} mocha tests failed.",
        fix="Run `npx mocha` locally and fix the failing tests listed after "
        "the summary.",
        examples=["  2 failing"],
    ),
    rule(
        "playwright.failed",
        F.TEST_FAILURE,
        Tier.TOOL,
        r"^\s{2,6}\d{1,5} failed\n\s{4,8}\[(?P<project>[\w -]{1,40})\] \u203a "
        r"(?P<test>[^\n]{1,200})",
        keywords=["failed"],
        requires=["\u203a"],
        cause="Playwright test failed in {project}: {test}.",
        fix="Open the Playwright report or trace for {test} and fix the page "
        "or the test.",
        examples=[
            "  1 failed\n    [chromium] \u203a tests/checkout.spec.ts:18:5 \u203a "
            "checkout \u203a pays by card"
        ],
    ),
    rule(
        "npm.script_failed",
        F.BUILD_FAILURE,
        Tier.GENERIC,
        r"^(?:" + NPM + r" (?:Lifecycle script|command failed)|error Command "
        r"failed with exit code \d{1,3})",
        keywords=["lifecycle script", "command failed"],
        cause="An npm/yarn script failed; the lines above it show why.",
        fix="Run the same script locally and fix the first error it prints.",
        examples=["npm ERR! Lifecycle script `build` failed with error:"],
    ),
)
