"""Rule files on disk -> the pure loader (``app.core.alerting.loading``)."""

from __future__ import annotations

from pathlib import Path

from app.core.alerting.loading import RuleIssue, RuleLoadError, load_rules
from app.core.alerting.models import RuleSet
from app.core.alerting.types.base import Binding

PATTERNS = ("*.yaml", "*.yml")


def rule_files(path: Path) -> list[Path]:
    """``path`` itself (a file) or the YAML files directly in it (a directory), sorted."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise RuleLoadError([RuleIssue(str(path), None, None,
                                       "no such rule file or directory")])
    return sorted({p for pattern in PATTERNS for p in path.glob(pattern)})


def load_rule_paths(paths: list[Path], window_sizes: tuple[int, ...]) -> RuleSet:
    sources: list[tuple[str, str]] = []
    issues: list[RuleIssue] = []
    for path in paths:
        try:
            files = rule_files(path)
        except RuleLoadError as exc:
            issues += exc.issues
            continue
        for file in files:
            try:
                sources.append((str(file), file.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError) as exc:
                issues.append(RuleIssue(str(file), None, None, f"cannot read: {exc}"))
    try:
        rules = load_rules(sources, Binding(window_sizes))
    except RuleLoadError as exc:
        issues += exc.issues
    if issues:
        raise RuleLoadError(issues)
    return rules
