"""Ruby (Bundler, RSpec, Minitest, RuboCop), PHP (Composer, PHPUnit), shell."""

from __future__ import annotations

from devflowfix.analysis.rules.base import Rule, Tier, rule
from devflowfix.vocabulary import FailureType as F

RULES: tuple[Rule, ...] = (
    rule(
        "bundler.gem_missing",
        F.DEPENDENCY_ERROR,
        Tier.CAUSE,
        r"Could not find gem '(?P<gem>[^'\n]{1,120})' in|Bundler could not find "
        r"compatible versions for gem \"(?P<gem2>[^\"\n]{1,120})\"|Could not find "
        r"(?P<gem3>[\w.\-]{1,120}) in locally installed gems",
        keywords=[
            "could not find gem",
            "compatible versions for gem",
            "installed gems",
        ],
        cause="Bundler cannot install the gem {gem} at a version that fits the "
        "Gemfile.",
        fix="Run `bundle install` (or `bundle update {gem}`) locally and "
        "commit Gemfile.lock.",
        examples=['Bundler could not find compatible versions for gem "rack":'],
    ),
    rule(
        "ruby.load_error",
        F.DEPENDENCY_ERROR,
        Tier.CAUSE,
        r"cannot load such file -- (?P<library>[\w/.\-]{1,120}) \(LoadError\)",
        keywords=["cannot load such file"],
        cause="Ruby cannot load '{library}' (LoadError): the gem is not in the "
        "bundle or the path is wrong.",
        fix="Add the gem that provides '{library}' to the Gemfile, or fix the "
        "require path.",
        examples=[
            "<internal:/opt/ruby/lib/ruby/3.3.0/rubygems/core_ext/kernel_require.rb>"
            ":136:in `require': cannot load such file -- faraday/retry (LoadError)"
        ],
    ),
    rule(
        "rspec.failed",
        F.TEST_FAILURE,
        Tier.TOOL,
        r"^rspec (?P<location>\./[\w/.\-]{1,200}:\d{1,7}) # (?P<test>[^\n]{1,200})",
        keywords=["rspec ./"],
        cause="RSpec example failed: {test} ({location}).",
        fix="Run `bundle exec rspec {location}` locally and fix the "
        "expectation or the code.",
        examples=["rspec ./spec/models/order_spec.rb:27 # Order#total adds tax"],
        collect="test",
    ),
    rule(
        "minitest.failed",
        F.TEST_FAILURE,
        Tier.TOOL,
        r"^\d{1,7} runs, \d{1,9} assertions, (?!0 failures, 0 errors)"
        r"(?P<failures>\d{1,7}) failures, "
        r"(?P<errors>\d{1,7}) errors",
        keywords=["runs,"],
        cause="Minitest reports {failures} failures and {errors} errors.",
        fix="Run `bin/rails test` (or `rake test`) locally; the failures are "
        "listed above the summary.",
        examples=["42 runs, 97 assertions, 1 failures, 0 errors, 0 skips"],
    ),
    rule(
        "rubocop.offenses",
        F.LINT_ERROR,
        Tier.TOOL,
        r"^(?P<files>\d{1,6}) files? inspected, (?P<offenses>[1-9]\d{0,5}) "
        r"offenses? detected",
        keywords=["inspected"],
        cause="RuboCop found {offenses} offenses in {files} files.",
        fix="Run `bundle exec rubocop -a` locally and commit the fixes.",
        examples=[
            "87 files inspected, 3 offenses detected, 2 offenses autocorrectable"
        ],
    ),
    rule(
        "composer.unresolvable",
        F.DEPENDENCY_ERROR,
        Tier.CAUSE,
        r"Your requirements could not be resolved to an installable set of "
        r"packages\.(?:\n[^\n]{0,300}){0,6}?\n\s{0,8}- (?:Root composer\.json "
        r"requires |)(?P<package>[\w.\-]{1,80}/[\w.\-]{1,80})",
        keywords=["installable set of packages"],
        cause="Composer cannot resolve the requirements: no installable "
        "version of {package} fits the constraints.",
        fix="Relax the version constraint of {package} in composer.json or "
        "update the packages it conflicts with, then commit composer.lock.",
        examples=[
            "Your requirements could not be resolved to an installable set of "
            "packages.\n\n  Problem 1\n    - Root composer.json requires "
            "guzzlehttp/guzzle ^9.0, found guzzlehttp/guzzle[7.8.1]"
        ],
    ),
    rule(
        "composer.lock_outdated",
        F.DEPENDENCY_ERROR,
        Tier.CAUSE,
        r"The lock file is not up to date with the latest changes in composer\.json|"
        r"Required package \"(?P<package>[^\"\n]{1,120})\" is not present in the "
        r"lock file",
        keywords=["lock file is not up to date", "not present in the lock file"],
        cause="composer.lock is out of date with composer.json[: {package} is "
        "missing from it].",
        fix="Run `composer update --lock` locally and commit composer.lock.",
        examples=[
            "Warning: The lock file is not up to date with the latest changes "
            "in composer.json."
        ],
    ),
    rule(
        "phpunit.failed",
        F.TEST_FAILURE,
        Tier.TOOL,
        r"^\d{1,5}\) (?P<test>[\w\\]{1,200}::\w{1,120})",
        keywords=["::"],
        cause="PHPUnit test failed: {test_list}.",
        fix="Run `vendor/bin/phpunit --filter` with the test name locally and "
        "fix the assertion.",
        examples=["1) Tests\\Unit\\InvoiceTest::testTotalIncludesVat"],
        collect="test",
    ),
    rule(
        "php.memory",
        F.OUT_OF_MEMORY,
        Tier.CAUSE,
        r"Allowed memory size of (?P<bytes>\d{1,14}) bytes exhausted",
        keywords=["allowed memory size"],
        cause="PHP hit its memory_limit ({bytes} bytes).",
        fix="Raise memory_limit for the command (php -d memory_limit=-1, or "
        "COMPOSER_MEMORY_LIMIT) or reduce what it loads.",
        examples=[
            "PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted "
            "(tried to allocate 20480 bytes)"
        ],
    ),
    rule(
        "php.parse_error",
        F.COMPILATION_ERROR,
        Tier.CAUSE,
        r"PHP Parse error: {1,2}(?P<message>[^\n]{1,200}?) in (?P<file>[\w/.\-]"
        r"{1,200}\.php) on line (?P<line>\d{1,7})",
        keywords=["parse error"],
        cause="PHP cannot parse {file} at line {line}: {message}.",
        fix="Fix the syntax at {file}:{line}; `php -l {file}` checks it.",
        examples=[
            'PHP Parse error:  syntax error, unexpected token "}" in '
            "src/Invoice.php on line 58"
        ],
    ),
    rule(
        "phpstan.errors",
        F.LINT_ERROR,
        Tier.TOOL,
        r"\[ERROR\] Found (?P<errors>\d{1,6}) errors?$",
        keywords=["[error] found"],
        cause="PHPStan found {errors} errors.",
        fix="Run `vendor/bin/phpstan analyse` locally and fix the reported lines.",
        examples=[" [ERROR] Found 3 errors"],
    ),
    rule(
        "apt.package_missing",
        F.DEPENDENCY_ERROR,
        Tier.CAUSE,
        r"^E: (?:Unable to locate package |Package '?)(?P<package>[\w.+\-]{1,120})'?"
        r"(?: has no installation candidate)?",
        keywords=["e: unable to locate package", "has no installation candidate"],
        cause="apt cannot install the package {package}: it is not in the "
        "image's package lists.",
        fix="Run `apt-get update` in the same step before installing, and "
        "check the package's name for this distribution release.",
        examples=["E: Unable to locate package libssl1.1"],
    ),
    rule(
        "rake.aborted",
        F.BUILD_FAILURE,
        Tier.GENERIC,
        r"^rake aborted!\n(?P<reason>[^\n]{1,200})",
        keywords=["rake aborted"],
        cause="A rake task aborted: {reason}.",
        fix="Run the same rake task locally with `--trace` to see where it fails.",
        weight=1,
        examples=["rake aborted!\nSassC::SyntaxError: Error: Undefined variable"],
    ),
    rule(
        "shell.command_not_found",
        F.CONFIGURATION_ERROR,
        Tier.CAUSE,
        r"(?:^|: )(?P<command>[\w.\-]{1,80}): (?:command not found|not found)$",
        keywords=["not found"],
        cause="The command '{command}' is not installed on the runner (command "
        "not found).",
        fix="Install '{command}' in an earlier step or use an image that has "
        "it; check the PATH and the spelling.",
        examples=["/home/runner/work/_temp/a1b2.sh: line 2: helm: command not found"],
    ),
    rule(
        "shell.unbound_variable",
        F.CONFIGURATION_ERROR,
        Tier.CAUSE,
        r": (?P<variable>[A-Za-z_]\w{0,80}): unbound variable$",
        keywords=["unbound variable"],
        cause="The script uses the variable {variable}, which is not set (set -u).",
        fix="Define {variable} for the job (env, a secret or a CI variable) or "
        "give it a default with ${{{variable}:-}}.",
        examples=["deploy.sh: line 7: DEPLOY_ENV: unbound variable"],
    ),
    rule(
        "shell.exit_code",
        F.UNKNOWN,
        Tier.GENERIC,
        r"(?:Process completed with|ERROR: Job failed:|ERROR: script returned) "
        r"exit code (?P<code>[1-9]\d{0,2})",
        keywords=["exit code"],
        cause="A command exited with status {code}; the log does not say why.",
        fix="Run the failing command locally with the same inputs, or add "
        "verbose output to the step to see what it did.",
        examples=["Process completed with exit code 2."],
    ),
)
