"""The house keeps its shape: no import cycles between files, pure rules, honest constants.

`lint-imports` (run by CI before the tests, contracts in `.importlinter`) checks the layers;
these tests check what its contracts cannot say: that no two files import each other, directly
or round a longer loop, and that `bot.rules` uses nothing outside the standard library, pydantic,
dateparser and holidays (England's bank holidays, pure data): a new third-party import there
would slip past a forbidden-list contract.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import grimp
from telegram.constants import PollLimit

from bot.rules import scenarios

PACKAGES = ("bot", "handlers", "storage")
RULES_MAY_IMPORT = frozenset(sys.stdlib_module_names) | {"pydantic", "dateparser", "holidays"}


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, include_external_packages=True)


def _cycles(graph: dict[str, set[str]]) -> Iterator[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    yield sorted(component)


def _internal_graph(graph: grimp.ImportGraph) -> dict[str, set[str]]:
    ours = {m for m in graph.modules if m.split(".")[0] in PACKAGES}
    return {m: set(graph.find_modules_directly_imported_by(m)) & ours for m in ours}


def test_cycle_finder_finds_a_cycle() -> None:
    # The check below is only as good as this finder: a loop of three and a pair are found,
    # a chain is not.
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"e"}, "e": {"d"}, "f": {"a"}}
    assert sorted(_cycles(graph)) == [["a", "b", "c"], ["d", "e"]]
    assert list(_cycles({"a": {"b"}, "b": set()})) == []


def test_no_import_cycle_between_files() -> None:
    # Every import counts, including those inside functions and under TYPE_CHECKING.
    cycles = list(_cycles(_internal_graph(_graph())))
    assert cycles == [], f"import cycles: {cycles}"


def test_rules_use_only_the_standard_library_pydantic_dateparser_and_holidays() -> None:
    graph = _graph()
    rules = {m for m in graph.modules if m == "bot.rules" or m.startswith("bot.rules.")}
    outside: dict[str, set[str]] = {}
    for module in sorted(rules):
        for imported in graph.find_modules_directly_imported_by(module):
            top = imported.split(".")[0]
            if imported in rules or top in RULES_MAY_IMPORT:
                continue
            outside.setdefault(module, set()).add(imported)
    assert outside == {}


def test_quiz_limits_fit_telegrams_poll_limits() -> None:
    # bot.rules keeps Telegram's limits as plain numbers; they must not exceed Telegram's own.
    assert scenarios.MAX_QUESTION_LENGTH <= PollLimit.MAX_QUESTION_LENGTH
    assert scenarios.MAX_OPTION_LENGTH <= PollLimit.MAX_OPTION_LENGTH
    assert scenarios.MAX_OPTIONS <= PollLimit.MAX_OPTION_NUMBER
    assert scenarios.MAX_EXPLANATION_LENGTH <= PollLimit.MAX_EXPLANATION_LENGTH
