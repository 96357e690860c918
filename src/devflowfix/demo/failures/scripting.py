"""Failures of Ruby (Bundler, RSpec, RuboCop) and PHP (Composer, PHPUnit) projects."""

from __future__ import annotations

from devflowfix.demo.failures.base import Context, Failure, Registry
from devflowfix.demo.failures.pools import line, title
from devflowfix.vocabulary import FailureType

registry = Registry()

GEMS = ("rails", "sidekiq", "nokogiri", "pg", "devise", "puma", "rack", "grpc")
PHP_PACKAGES = (
    "laravel/framework",
    "symfony/http-kernel",
    "guzzlehttp/guzzle",
    "doctrine/orm",
    "monolog/monolog",
    "league/flysystem",
)


@registry.add(
    "ruby.rspec_failure",
    FailureType.TEST_FAILURE,
    stage="test",
    ecosystems="ruby",
    weight=3,
    confidence=0.8,
)
def rspec_failure(c: Context) -> Failure:
    noun = c.noun()
    klass = title(noun)
    spec = f"spec/models/{noun}_spec.rb"
    at = line(c)
    expected, got = (
        f"{c.num(10, 99)}.{c.num(10, 99)}",
        f"{c.num(10, 99)}.{c.num(10, 99)}",
    )
    examples = c.num(200, 2000)

    output = [
        "Failures:",
        "",
        f"  1) {klass}#total includes the discount for returning customers",
        f'     Failure/Error: expect({noun}.total).to eq(BigDecimal("{expected}"))',
        "",
        f"       expected: {expected}",
        f"            got: {got}",
        "",
        "       (compared using ==)",
        f"     # ./{spec}:{at}:in `block (3 levels) in <top (required)>'",
        "",
        f"Finished in {c.num(1, 9)} minutes {c.num(1, 59)} seconds",
        f"{examples} examples, 1 failure",
        "",
        "Failed examples:",
        "",
        (
            f"rspec ./{spec}:{at} # {klass}#total includes the discount for "
            "returning customers"
        ),
    ]

    return Failure(
        message=(
            f"rspec ./{spec}:{at} # {klass}#total includes the discount (expected: "
            f"{expected}, got: {got})"
        ),
        root_cause=(
            f"{klass}#total applies the discount after tax since the pricing "
            f"refactor, so {spec}:{at} gets {got} instead of {expected}."
        ),
        suggested_fix=(
            "Apply discounts before tax in the pricing service, as the spec describes."
        ),
        command="bundle exec rspec",
        output=output,
    )


@registry.add(
    "ruby.bundler_conflict",
    FailureType.DEPENDENCY_ERROR,
    stage="build",
    ecosystems="ruby",
    weight=1.5,
    confidence=0.9,
)
def bundler_conflict(c: Context) -> Failure:
    gem, other = c.pick(GEMS), c.pick(GEMS)
    major = c.num(5, 8)
    output = [
        "Fetching gem metadata from https://rubygems.org/..........",
        "Resolving dependencies...",
        f'Could not find compatible versions for gem "{gem}":',
        "  In Gemfile:",
        f"    {gem} (~> {major}.{c.num(0, 2)})",
        "",
        f"    {other}-{c.version(1, 3)} was resolved to {c.version(1, 3)}, which "
        f"depends on",
        f"      {gem} (< {major}, >= {major - 2}.{c.num(0, 2)})",
    ]

    return Failure(
        message=f'Bundler could not find compatible versions for gem "{gem}"',
        root_cause=(
            f"The Gemfile moved {gem} to {major}.x, but the locked {other} still "
            f"requires {gem} < {major}."
        ),
        suggested_fix=(
            f"Update {other} together with {gem} (`bundle update {gem} {other}`)."
        ),
        command="bundle install --jobs 4",
        output=output,
        exit_code=6,
    )


@registry.add("ruby.rubocop", FailureType.LINT_ERROR, stage="lint", ecosystems="ruby")
def rubocop(c: Context) -> Failure:
    cops = (
        (
            "C",
            (
                "Style/StringLiterals: Prefer single-quoted strings when you don't "
                "need string interpolation or special symbols."
            ),
        ),
        ("C", "Layout/LineLength: Line is too long. [131/120]"),
        ("W", "Lint/UselessAssignment: Useless assignment to variable - result."),
        ("C", "Metrics/MethodLength: Method has too many lines. [31/25]"),
    )
    offences = []
    for _ in range(c.num(1, 4)):
        level, text = c.pick(cops)
        offences.append(
            f"app/models/{c.noun()}.rb:{line(c)}:{c.num(1, 40)}: {level}: {text}"
        )

    summary = f"{c.num(100, 900)} files inspected, {len(offences)} offenses detected"

    return Failure(
        message=offences[0],
        root_cause=f"RuboCop found {len(offences)} offence(s) in the changed files.",
        suggested_fix="Run `bundle exec rubocop -a` and review the remaining offences.",
        command="bundle exec rubocop",
        output=["Inspecting files", *offences, "", summary],
    )


@registry.add(
    "php.phpunit_failure",
    FailureType.TEST_FAILURE,
    stage="test",
    ecosystems="php",
    weight=2.5,
    confidence=0.8,
)
def phpunit_failure(c: Context) -> Failure:
    noun = title(c.noun())
    case = c.pick(("Total", "IsArchived", "RejectsEmptyName"))
    test = f"Tests\\Unit\\{noun}ServiceTest::test{noun}{case}"
    at = line(c)
    expected, actual = c.num(1, 50), c.num(51, 99)

    output = [
        (
            f"PHPUnit 11.{c.num(0, 4)}.{c.num(0, 9)} by Sebastian Bergmann and "
            "contributors."
        ),
        "",
        f"Runtime:       PHP 8.{c.num(1, 3)}.{c.num(0, 12)}",
        "",
        "There was 1 failure:",
        "",
        f"1) {test}",
        f"Failed asserting that {actual} matches expected {expected}.",
        "",
        f"{c.workdir}/tests/Unit/{noun}ServiceTest.php:{at}",
        "",
        "FAILURES!",
        f"Tests: {c.num(100, 900)}, Assertions: {c.num(300, 2000)}, Failures: 1.",
    ]

    return Failure(
        message=(
            f"1) {test}: Failed asserting that {actual} matches expected {expected}."
        ),
        root_cause=(
            f"{test} fails because the service now counts soft-deleted rows "
            f"(tests/Unit/{noun}ServiceTest.php:{at})."
        ),
        suggested_fix=(
            "Exclude soft-deleted rows in the repository query (withoutTrashed)."
        ),
        command="vendor/bin/phpunit",
        output=output,
    )


@registry.add(
    "php.composer_conflict",
    FailureType.DEPENDENCY_ERROR,
    stage="build",
    ecosystems="php",
    weight=1.5,
    confidence=0.9,
)
def composer_conflict(c: Context) -> Failure:
    package = c.pick(PHP_PACKAGES)
    wanted = f"^{c.num(9, 12)}.0"
    php = f"8.{c.num(1, 2)}.{c.num(0, 20)}"

    output = [
        "Loading composer repositories with package information",
        "Updating dependencies",
        "Your requirements could not be resolved to an installable set of packages.",
        "",
        "  Problem 1",
        f"    - Root composer.json requires {package} {wanted} -> satisfiable by "
        f"{package}[{wanted[1:]}].",
        f"    - {package} {wanted[1:]} requires php ^8.3 -> your php version "
        f"({php}) does not satisfy that requirement.",
    ]

    return Failure(
        message=(
            "Your requirements could not be resolved to an installable set of packages."
        ),
        root_cause=(
            f"{package} {wanted} requires PHP 8.3, but the CI image runs PHP {php}."
        ),
        suggested_fix=(
            "Move the CI image (and production) to PHP 8.3, or stay on the "
            "previous major of the package."
        ),
        command="composer install --no-interaction --prefer-dist",
        output=output,
        exit_code=2,
    )


@registry.add("php.phpstan", FailureType.LINT_ERROR, stage="lint", ecosystems="php")
def phpstan(c: Context) -> Failure:
    noun = title(c.noun())
    messages = (
        f"Call to an undefined method App\\Models\\{noun}::archive().",
        (
            f"Method App\\Services\\{noun}Service::find() should return "
            f"App\\Models\\{noun} but returns App\\Models\\{noun}|null."
        ),
        "Parameter #1 $id of method find() expects int, string given.",
    )
    findings = [f"  {line(c)}     {c.pick(messages)}" for _ in range(c.num(1, 3))]

    output = [
        " ------ -------------------------------------------------------------",
        f"  Line   app/Services/{noun}Service.php",
        " ------ -------------------------------------------------------------",
        *findings,
        " ------ -------------------------------------------------------------",
        f" [ERROR] Found {len(findings)} errors",
    ]

    return Failure(
        message=(
            f"phpstan: Found {len(findings)} errors in app/Services/{noun}Service.php"
        ),
        root_cause=f"Static analysis at level 8 rejects new code in {noun}Service: "
        + findings[0].strip(),
        suggested_fix=(
            "Handle the nullable return and fix the types; run `vendor/bin/phpstan "
            "analyse` locally."
        ),
        command="vendor/bin/phpstan analyse --memory-limit=1G",
        output=output,
    )
