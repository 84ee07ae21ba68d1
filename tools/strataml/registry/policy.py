"""Promotion policy as code: what a model version needs to hold a stage (TFC-0005 R10).

The one evaluation doctor (POL001-POL002, SIG001-SIG009) and `strata model promote` share, so
that a version promote refuses is the version doctor fails once a hand edit puts it there."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from strataml.config import Config, MetricRule, PromotionPolicy, StageRequirements
from strataml.errors import StrataError
from strataml.integrity.gpg import Keyring, Verdict
from strataml.integrity.signatures import SIGNATURE, DirectoryReport, verify_directory
from strataml.jsonio import as_list, as_number
from strataml.registry.cards import PLACEHOLDER, parse_card, section_written
from strataml.registry.store import load_mapping
from strataml.safeopen import read_regular
from strataml.yamlio import MAX_BYTES

STAGES = ("staging", "production")


@dataclass(frozen=True)
class StagePolicy:
    card_sections: tuple[str, ...] = ()
    metrics: tuple[MetricRule, ...] = ()
    signatures: int = 0  # distinct trusted signers; checked with the signatures (SIG009)
    source: str = ""  # the table that says it, as messages and hints name it
    whole_card: bool = False  # no section left as the placeholder (production, TFC-0005 R6)


@dataclass(frozen=True)
class Violation:
    kind: str  # "card-section", "metric" or "signature"
    path: str  # repo-relative file at fault
    message: str


def model_policy(policy: PromotionPolicy, name: str) -> dict[str, StagePolicy]:
    """The policy of model `name`, one StagePolicy per stage. The first
    [[tool.strataml.policy.models]] entry whose `match` glob fits the name replaces the default
    table of each stage it names; a stage it does not name keeps the default (TFC-0005 R10)."""
    tables = {
        stage: (policy.default.stage(stage), f"[tool.strataml.policy.{stage}]") for stage in STAGES
    }
    entry = next((m for m in policy.models if fnmatch.fnmatchcase(name, m.match)), None)
    if entry is not None:
        for stage in STAGES:
            own = entry.tables.stage(stage)
            if own is not None:
                where = f'[[tool.strataml.policy.models]] match = "{entry.match}", {stage}'
                tables[stage] = (own, where)
    policies = {}
    for stage, (table, where) in tables.items():
        # Production holds whatever the tables say: its card is written throughout (TFC-0005 R6).
        if table is not None or stage == "production":
            found = table or StageRequirements()
            policies[stage] = StagePolicy(
                found.card_sections, found.metrics, found.signatures, where, stage == "production"
            )
    return policies


def evaluate(root: Path, name: str, version: str, policy: StagePolicy) -> list[Violation]:
    """Everything `models/<name>/<version>` lacks for a stage with this policy."""
    directory = f"models/{name}/{version}"
    violations: list[Violation] = []
    if policy.card_sections or policy.whole_card:
        try:
            text = read_regular(root / directory / "card.md", 16 * MAX_BYTES).decode(
                "utf-8", "replace"
            )
        except OSError:
            text = ""
        card = parse_card(text)
        for section in policy.card_sections:
            if not section_written(card, section):
                violations.append(
                    Violation(
                        "card-section",
                        f"{directory}/card.md",
                        f"card section {section!r} is missing or not written",
                    )
                )
        unwritten = [
            repr(section)
            for section, body in card.sections.items()
            if body == PLACEHOLDER and section not in policy.card_sections
        ]
        if policy.whole_card and unwritten:
            what = "section" if len(unwritten) == 1 else "sections"
            verb = "is" if len(unwritten) == 1 else "are"
            message = f"card {what} {', '.join(unwritten)} {verb} still {PLACEHOLDER}"
            violations.append(Violation("unwritten", f"{directory}/card.md", message))
    if policy.metrics:
        try:
            entries = load_mapping(root / directory / "metrics.yaml").get("metrics")
        except StrataError:
            entries = None
        # Rules name strings: an entry whose name or split is another type (doctor reports it)
        # matches none, and a value that is not a finite number counts as not reported.
        reported = {
            (e["name"], str(e.get("dataset", "")).split("#", 1)[0], e["split"]): as_number(
                e.get("value")
            )
            for e in as_list(entries)
            if isinstance(e, dict)
            and isinstance(e.get("name"), str)
            and isinstance(e.get("split"), str)
        }
        for rule in policy.metrics:
            value = reported.get((rule.name, rule.dataset, rule.split))
            at = f"{directory}/metrics.yaml"
            if value is None:
                violations.append(
                    Violation(
                        "metric",
                        at,
                        f"reports no {rule.name} on {rule.dataset} {rule.split}; policy needs {rule.describe()}",
                    )
                )
            elif (rule.minimum is not None and value < rule.minimum) or (
                rule.maximum is not None and value > rule.maximum
            ):
                violations.append(
                    Violation(
                        "metric",
                        at,
                        f"{rule.name} on {rule.dataset} {rule.split} is {value:g}; policy needs {rule.describe()}",
                    )
                )
    return violations


# --- signatures (TFC-0008 R10, R11) -------------------------------------------------------------


@dataclass(frozen=True)
class SignerNeed:
    count: int = 0  # distinct trusted signers, by primary fingerprint
    why: str | None = None  # the configuration that asks for them


def signer_need(config: Config, path: str, stages: Iterable[str] = ()) -> SignerNeed:
    """The most any `[[tool.strataml.signing.require]]` glob matching `path`, or the policy of a
    stage it holds (or is promoted to), asks of it."""
    need = SignerNeed()
    for required in config.signing_requirements:
        if fnmatch.fnmatchcase(path, required.path) and required.signers > need.count:
            why = f"[[tool.strataml.signing.require]] path {required.path!r}"
            need = SignerNeed(required.signers, why)
    parts = path.split("/")
    policies = (
        model_policy(config.promotion_policy, parts[1])
        if parts[0] == "models" and len(parts) > 1
        else {}
    )
    for stage in stages:
        policy = policies.get(stage)
        if policy is not None and policy.signatures > need.count:
            need = SignerNeed(policy.signatures, policy.source)
    return need


@dataclass(frozen=True)
class SignatureFailure:
    kind: Literal["missing", "malformed", "untrusted", "failed", "too-few"]
    message: str
    verdict: Verdict | None = None  # "failed": gpg's verdict on the block
    fingerprint: str | None = None  # "untrusted": the good signer outside the trust list


def signature_failures(report: DirectoryReport, need: SignerNeed) -> list[SignatureFailure]:
    """Why an artifact's SIGNATURE.asc does not vouch for it as `need` asks; [] when it does.

    Every block must be a good signature by a trusted key, whatever is required (TFC-0008 R10)."""
    if not report.present:
        if not need.count:
            return []
        plural = "s" if need.count > 1 else ""
        message = f"{need.count} trusted signature{plural} required by {need.why}, none present"
        return [SignatureFailure("missing", message)]
    failures = []
    if report.problem:
        failures.append(SignatureFailure("malformed", f"{SIGNATURE} {report.problem}"))
    for block in report.blocks:
        result, who = block.result, _who(block.result.fingerprint, block.result.uid)
        if result.verdict is Verdict.GOOD:
            if not block.trusted:
                message = f"signature {block.index} by {who} is good, but that key is not in [tool.strataml.signing] trusted"
                failures.append(
                    SignatureFailure("untrusted", message, fingerprint=result.fingerprint)
                )
            continue
        detail = (
            f" ({result.detail})"
            if result.detail and result.verdict in (Verdict.ERROR, Verdict.MALFORMED)
            else ""
        )
        message = f"signature {block.index} by {who}: {result.verdict.value}{detail}"
        failures.append(SignatureFailure("failed", message, verdict=result.verdict))
    signers = sorted(report.signers)
    if need.count and len(signers) < need.count and report.blocks:
        plural = "s" if len(signers) != 1 else ""
        message = (
            f"{len(signers)} distinct trusted signer{plural} ({', '.join(signers) or 'none'}), "
            f"{need.count} required by {need.why}"
        )
        failures.append(SignatureFailure("too-few", message))
    return failures


def _who(fingerprint: str | None, uid: str | None) -> str:
    if fingerprint is None:
        return "an unknown key"
    return f"{fingerprint}" + (f" ({uid})" if uid else "")


def check_signed(root: Path, config: Config, path: str, need: SignerNeed) -> list[SignatureFailure]:
    """Verify `path`'s SIGNATURE.asc against keys/ and the trust list (gpg only if one exists)."""
    if not (root / path / SIGNATURE).exists():
        return signature_failures(DirectoryReport(path, False, None, ()), need)
    with Keyring(root) as keyring:
        report = verify_directory(keyring, root, path, config.trusted)
    return signature_failures(report, need)


def evaluate_stage(
    root: Path, config: Config, name: str, version: str, stage: str
) -> list[Violation]:
    """Everything doctor reports against `models/<name>/<version>` once it holds `stage`: the
    stage policy's card sections and thresholds, then its signatures."""
    policy = model_policy(config.promotion_policy, name).get(stage)
    found = evaluate(root, name, version, policy) if policy else []
    path = f"models/{name}/{version}"
    failures = check_signed(root, config, path, signer_need(config, path, (stage,)))
    return found + [Violation("signature", f"{path}/{SIGNATURE}", f.message) for f in failures]
